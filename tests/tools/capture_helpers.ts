/**
 * Small helpers shared by the capture tests and the capture benchmark: running `probe` as a
 * subprocess, `probe capture codex` on free ports, a capture session in a temporary folder, a
 * mitmdump wrapper that tells the test each mitmdump's pid, strict JSONL reading and a few
 * observed-readiness waits (no fixed sleeps).
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { CaptureSession, type SessionOptions } from "../../lib/capture/session.ts";
import type { Entry, Target } from "../../lib/types.ts";
import { findMitmdumps, type Mitmdump, ROOT } from "./paths.ts";
import { exists } from "../../lib/path_exists.ts";

/**
 * The fingerprint passphrase of every capture the tests make (`PROBE_FINGERPRINT_KEY`, set for
 * this process and so for the probe processes it starts), so a test can name the fingerprint a
 * planted secret gets: {@link fp}.
 */
export const TEST_FINGERPRINT_PASSPHRASE = "probe-tests";
Deno.env.set("PROBE_FINGERPRINT_KEY", TEST_FINGERPRINT_PASSPHRASE);

/** The capture's mask of `secret` under the tests' passphrase: `[REDACTED:` 8 hex digits `]`. */
export function fp(secret: string): string {
  const mac = createHmac("sha256", TEST_FINGERPRINT_PASSPHRASE).update(secret).digest("hex");
  return `[REDACTED:${mac.slice(0, 8)}]`;
}
export { exists };

/** The CLI's entry point. */
export const MAIN = `${ROOT}/main.ts`;

const dec = new TextDecoder();

/** What a finished `probe` run printed and its exit status. */
export interface ProbeResult {
  code: number;
  signal: Deno.Signal | null;
  stdout: string[];
  stderr: string[];
}

/** Options of a `probe` subprocess. */
export interface ProbeSpawnOptions {
  cwd?: string;
  /** Variables laid over the test's environment (all of it, with `clearEnv`). */
  env?: Record<string, string>;
  /** Start from an empty environment: probe and what it runs see only `env`. */
  clearEnv?: boolean;
  /**
   * A process group of its own, like a terminal's foreground job, so the test can send Ctrl+C's
   * SIGINT to probe, mitmdump and the command at once (`Deno.kill(-p.pid, "SIGINT")`).
   */
  ownGroup?: boolean;
  /** After this many ms probe gets SIGTERM (which ends what it runs), so a stuck run fails. */
  timeoutMs?: number;
  /** Options for `deno run` before main.ts (e.g. the probe task's `--v8-flags=…`). */
  denoArgs?: string[];
}

/**
 * A running `probe …` (`deno run -A main.ts …`), its output collected line by line so the
 * test can wait for a line (readiness observed, never assumed).
 *
 * @example
 * ```ts
 * const p = new ProbeProcess(["capture", "codex", "--port", "api=0"]);
 * const port = Number((await p.line(/^ {2}:(\d+) -> /))[1]);
 * p.kill("SIGINT");
 * const result = await p.finish();
 * ```
 */
export class ProbeProcess {
  readonly child: Deno.ChildProcess;
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  #waiters: (() => void)[] = [];
  #done: Promise<void>;

  constructor(args: string[], opts: ProbeSpawnOptions = {}) {
    const argv = [Deno.execPath(), "run", "-A", ...(opts.denoArgs ?? []), MAIN, ...args];
    this.child = new Deno.Command(opts.ownGroup ? "setsid" : argv[0], {
      args: opts.ownGroup ? argv : argv.slice(1),
      cwd: opts.cwd,
      env: opts.env,
      clearEnv: opts.clearEnv,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#done = Promise.all([
      this.#collect(this.child.stdout, this.stdout),
      this.#collect(this.child.stderr, this.stderr),
    ]).then(() => {});
    if (opts.timeoutMs !== undefined) {
      const timer = setTimeout(() => this.#signal("SIGTERM"), opts.timeoutMs);
      this.child.status.finally(() => clearTimeout(timer));
    }
  }

  get pid(): number {
    return this.child.pid;
  }

  async #collect(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
    let buf = "";
    const d = new TextDecoder();
    for await (const chunk of stream) {
      buf += d.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        into.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    }
    if (buf) into.push(buf);
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Waits for a line of stdout (or stderr) matching `re`; fails if probe exits first. */
  async line(re: RegExp, stream: "stdout" | "stderr" = "stdout"): Promise<RegExpExecArray> {
    let exited = false;
    const status = this.child.status.then(() => exited = true);
    while (true) {
      for (const l of this[stream]) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (exited) {
        await this.#done;
        const m = this[stream].map((l) => re.exec(l)).find((x) => x);
        if (m) return m;
        throw new Error(
          `probe exited before printing ${re}:\n${this.stdout.join("\n")}\n${
            this.stderr.join("\n")
          }`,
        );
      }
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), status]);
    }
  }

  /** Sends a signal to probe only (not to its mitmdumps). */
  kill(signal: Deno.Signal): void {
    this.child.kill(signal);
  }

  #signal(signal: Deno.Signal): void {
    try {
      this.child.kill(signal);
    } catch {
      // it has exited already
    }
  }

  /** Waits for the exit and the end of its output. */
  async finish(): Promise<ProbeResult> {
    const status = await this.child.status;
    await this.#done;
    return { code: status.code, signal: status.signal, stdout: this.stdout, stderr: this.stderr };
  }

  /** Ends probe (SIGTERM, unless it has exited already) and waits for it, as `finish` does. */
  stop(): Promise<ProbeResult> {
    this.#signal("SIGTERM");
    return this.finish();
  }
}

/** Runs `probe …` to its end. */
export function runProbe(args: string[], opts: ProbeSpawnOptions = {}): Promise<ProbeResult> {
  return new ProbeProcess(args, opts).finish();
}

/** Upstreams and output folder of a `capture codex` run (each flag left out when not given). */
export interface CodexCaptureOptions {
  /** `--upstream api=…` */
  api?: string;
  /** `--upstream chatgpt=…` */
  chatgpt?: string;
  /** `--output-dir` */
  outputDir?: string;
}

/**
 * The arguments of `probe capture` (what follows `capture`) for the codex target with `mitmdump`
 * and both proxies on free ports (`--port NAME=0`).
 */
export function codexCaptureArgs(mitmdump: string, opts: CodexCaptureOptions = {}): string[] {
  return [
    "codex",
    "--mitmdump",
    mitmdump,
    "--port",
    "api=0",
    "--port",
    "chatgpt=0",
    ...(opts.api === undefined ? [] : ["--upstream", `api=${opts.api}`]),
    ...(opts.chatgpt === undefined ? [] : ["--upstream", `chatgpt=${opts.chatgpt}`]),
    ...(opts.outputDir === undefined ? [] : ["--output-dir", opts.outputDir]),
  ];
}

/** A running `probe capture codex` (proxies only) and the ports its two proxies listen on. */
export interface CodexCapture {
  probe: ProbeProcess;
  api: number;
  chatgpt: number;
}

/**
 * Starts `probe capture codex` (proxies only) with both proxies forwarding to `upstream` and
 * recording into `outputDir`, plus `extra` arguments; resolves once probe says it is ready. If it
 * never does, probe is stopped and the error thrown.
 */
export async function startCodexCapture(
  mitmdump: string,
  upstream: string,
  outputDir: string,
  extra: string[] = [],
  env?: Record<string, string>,
): Promise<CodexCapture> {
  const probe = new ProbeProcess([
    "capture",
    ...codexCaptureArgs(mitmdump, { api: upstream, chatgpt: upstream, outputDir }),
    ...extra,
  ], { env });
  try {
    await probe.line(/^Press Ctrl\+C to stop\.$/);
    const api = Number((await probe.line(/^ {2}:(\d+) -> \S+ {2}\(Model API/))[1]);
    const chatgpt = Number((await probe.line(/^ {2}:(\d+) -> \S+ {2}\(Backend/))[1]);
    return { probe, api, chatgpt };
  } catch (err) {
    await probe.stop();
    throw err;
  }
}

/** A capture session recording into a temporary folder, removed with it on dispose. */
export interface TempCapture extends AsyncDisposable {
  session: CaptureSession;
  /** The capture file. */
  file: string;
  /** `http://127.0.0.1:PORT/` of a proxy of the session (the first one by default). */
  url(proxy?: string): string;
}

/** How the session handles secrets and the way upstream (as `CaptureSession.start` takes them). */
export type TempCaptureOptions = Partial<
  Pick<SessionOptions, "keepSecrets" | "upstreamProxy" | "upstreamCa">
>;

/**
 * Starts a capture session of `target` (all its proxies; secrets redacted unless
 * `opts.keepSecrets`) into a new temporary folder named `prefix…`, which is removed again if
 * the session does not start.
 */
export async function startTempCapture(
  mitmdump: string,
  target: Target,
  prefix: string,
  opts: TempCaptureOptions = {},
): Promise<TempCapture> {
  const dir = await Deno.makeTempDir({ prefix });
  const file = `${dir}/traffic.jsonl`;
  let session: CaptureSession;
  try {
    session = await CaptureSession.start({
      mitmdump,
      target,
      proxies: target.proxies,
      output: file,
      keepSecrets: opts.keepSecrets ?? false,
      upstreamProxy: opts.upstreamProxy,
      upstreamCa: opts.upstreamCa,
    });
  } catch (err) {
    await Deno.remove(dir, { recursive: true });
    throw err;
  }
  return {
    session,
    file,
    url: (proxy?: string) => {
      const p = proxy ? session.proxies.find((x) => x.name === proxy)! : session.proxies[0];
      return `http://127.0.0.1:${p.port}/`;
    },
    [Symbol.asyncDispose]: async () => {
      await session.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The newest mitmdump the setup found (the pip one), for tests that need only one. */
export async function newestMitmdump(): Promise<Mitmdump> {
  const all = await findMitmdumps();
  const key = (v: string) => v.split(".").map((n) => Number(n) || 0);
  return all.reduce((a, b) => {
    const [x, y] = [key(a.version), key(b.version)];
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) > (x[i] ?? 0) ? b : a;
    }
    return a;
  });
}

/**
 * Writes `DIR/mitmdump`, a wrapper that records the pid of each proxy's mitmdump in
 * `DIR/pid-<proxy name>` and its arguments, one a line, in `DIR/args-<proxy name>`, then execs
 * the real one (same pid), so a test can signal the exact process probe started.
 */
export async function pidRecordingMitmdump(dir: string, mitmdump: string): Promise<string> {
  const wrapper = `${dir}/mitmdump`;
  await Deno.writeTextFile(
    wrapper,
    `#!/bin/sh
name=
for a in "$@"; do
  case "$a" in probe_proxy=*) name="\${a#probe_proxy=}" ;; esac
done
if [ -n "$name" ]; then
  printf '%s\n' "$@" > "${dir}/args-$name"
  echo $$ > "${dir}/pid-$name"
fi
exec "${mitmdump}" "$@"
`,
  );
  await Deno.chmod(wrapper, 0o755);
  return wrapper;
}

/** The pid that `pidRecordingMitmdump` recorded for a proxy. */
export async function recordedPid(dir: string, proxy: string): Promise<number> {
  return Number((await Deno.readTextFile(`${dir}/pid-${proxy}`)).trim());
}

/** The value of `--set NAME=VALUE` that probe passed to a proxy's mitmdump. */
export async function recordedOption(dir: string, proxy: string, name: string): Promise<string> {
  const args = (await Deno.readTextFile(`${dir}/args-${proxy}`)).split("\n");
  const arg = args.find((a) => a.startsWith(`${name}=`));
  if (arg === undefined) throw new Error(`mitmdump for ${proxy} got no --set ${name}`);
  return arg.slice(name.length + 1);
}

/** True while a process with this pid exists and is not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Polls `check` every 20 ms until it holds; throws naming `what` after `ms`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export async function listening(port: number): Promise<boolean> {
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    c.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Splits a capture into its complete lines (each must parse as JSON, or this throws naming
 * the line) and the bytes after the last newline (a line cut off by a crash, or "").
 */
export function splitJsonl(bytes: Uint8Array): { entries: Entry[]; partial: string } {
  const text = dec.decode(bytes);
  const cut = text.lastIndexOf("\n") + 1;
  const entries = text.slice(0, cut).split("\n").filter((l) => l !== "").map((l, i) => {
    try {
      return JSON.parse(l) as Entry;
    } catch (err) {
      throw new Error(`line ${i + 1} is not JSON (${(err as Error).message}): ${l.slice(0, 200)}`);
    }
  });
  return { entries, partial: text.slice(cut) };
}

/** Reads a finished capture: every line valid JSON, the file ends with a newline. */
export async function readJsonl(file: string): Promise<Entry[]> {
  const { entries, partial } = splitJsonl(await Deno.readFile(file));
  assert.equal(partial, "", `${file} ends with a complete line`);
  return entries;
}

/** Permission bits of a file or folder. */
export async function modeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}
