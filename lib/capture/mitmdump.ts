/**
 * One mitmdump process: finding the binary, checking its version, starting it for one proxy,
 * observing readiness (the addon's ready file, or the process's exit: no sleeps), collecting
 * its output and turning a failed start into a one-line error naming cause and fix.
 */
import { unreadableCa } from "../ca.ts";
import { ProbeError } from "../errors.ts";
import type { ProxySpec } from "../types.ts";
import { exists } from "../path_exists.ts";

/** Oldest mitmproxy the addon supports. */
export const MIN_VERSION: readonly [number, number] = [8, 1];

export const INSTALL_HINT =
  "install mitmproxy (pipx install mitmproxy, uv tool install mitmproxy, pip install mitmproxy, " +
  "apt install mitmproxy or brew install mitmproxy), or point --mitmdump / PROBE_MITMDUMP at mitmdump";

/** Finds mitmdump: `--mitmdump`, then $PROBE_MITMDUMP, then `mitmdump` on $PATH. */
export async function locateMitmdump(explicit: string | undefined, env: {
  PROBE_MITMDUMP?: string;
  PATH?: string;
}): Promise<string> {
  for (const [value, from] of [[explicit, "--mitmdump"], [env.PROBE_MITMDUMP, "PROBE_MITMDUMP"]]) {
    if (value === undefined || value === "") continue;
    if (value.includes("/")) {
      if (await isExecutableFile(value)) return value;
      throw new ProbeError(`mitmdump not found at ${value} (from ${from}): ${INSTALL_HINT}`);
    }
    const found = await searchPath(value, env.PATH ?? "");
    if (found) return found;
    throw new ProbeError(`mitmdump '${value}' (from ${from}) is not on PATH: ${INSTALL_HINT}`);
  }
  const found = await searchPath("mitmdump", env.PATH ?? "");
  if (!found) throw new ProbeError(`mitmdump not found on PATH: ${INSTALL_HINT}`);
  return found;
}

async function searchPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const st = await Deno.stat(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** Runs `mitmdump --version`; throws when it cannot run or is older than MIN_VERSION. */
export async function checkMitmdumpVersion(path: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(path, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    throw new ProbeError(
      `cannot run mitmdump at ${path} (${(err as Error).message}): ${INSTALL_HINT}`,
    );
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /Mitmproxy:\s*(\d+)\.(\d+)(?:\.(\d+))?/i.exec(text);
  if (!out.success) {
    throw new ProbeError(
      `${path} --version failed (status ${out.code}); is it mitmproxy's mitmdump? ${INSTALL_HINT}` +
        tail(text),
    );
  }
  if (!m) {
    throw new ProbeError(
      `${path} is not mitmproxy's mitmdump (its --version names no mitmproxy version): ` +
        INSTALL_HINT + tail(text),
    );
  }
  const version = `${m[1]}.${m[2]}${m[3] !== undefined ? "." + m[3] : ""}`;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if (major < MIN_VERSION[0] || (major === MIN_VERSION[0] && minor < MIN_VERSION[1])) {
    throw new ProbeError(
      `mitmdump ${version} at ${path} is too old: probe needs mitmproxy ${MIN_VERSION.join(".")} ` +
        `or newer (pipx upgrade mitmproxy, or pip install -U mitmproxy)`,
    );
  }
  return version;
}

export interface MitmdumpSpec {
  path: string;
  proxy: ProxySpec;
  /** The addon file written for this run. */
  addonPath: string;
  /** The JSONL file. */
  output: string;
  readyFile: string;
  upstreamProxy?: string;
  upstreamCa?: string;
  keepSecrets: boolean;
  /** The redaction policy file (lib/redact.ts's lists) the addon masks with. */
  redactionFile: string;
  /** A file the addon marks exchanges in progress in (`probe capture --view`). */
  inflight?: string;
  /** Forward (regular proxy) mode instead of reverse mode to `proxy.upstream`. */
  forward?: ForwardSpec;
}

/** What a forward-mode mitmdump needs besides what every mitmdump gets. */
export interface ForwardSpec {
  /** mitmproxy's confdir: probe's CA folder. */
  confdir: string;
  /** Regular expression of the hosts to intercept (allow_hosts); the rest is tunnelled. */
  allowHosts: string;
  /** Host -> URL of the server its requests go to instead (--upstream). */
  routes: Record<string, string>;
  /** The routing addon, loaded before the recorder. */
  addonPath: string;
}

/**
 * How probe runs every mitmdump: on 127.0.0.1 at `port`, connecting upstream only when a
 * request needs it, quiet but for warnings. The benches' plain mitmdump runs the same way.
 */
export function listenArgs(port: number): string[] {
  return [
    "--listen-host",
    "127.0.0.1",
    "--listen-port",
    String(port),
    "--set",
    "connection_strategy=lazy",
    "--set",
    "flow_detail=0",
    "--set",
    "termlog_verbosity=warn",
  ];
}

/** How long a start may take before probe gives up (a slow machine takes ~1 s). */
const READY_TIMEOUT_MS = 60_000;
const POLL_MS = 20;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_KEEP = 64 * 1024;

export class MitmdumpProcess {
  readonly proxy: ProxySpec;
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #where: StartContext;
  #output = "";
  #drained: Promise<void>;
  #exited?: Deno.CommandStatus;

  private constructor(proxy: ProxySpec, child: Deno.ChildProcess, where: StartContext) {
    this.proxy = proxy;
    this.#child = child;
    this.#where = where;
    this.#drained = Promise.all([this.#drain(child.stdout), this.#drain(child.stderr)]).then(
      () => {},
    );
    this.status = child.status.then((s) => {
      this.#exited = s;
      return s;
    });
  }

  /** Spawns mitmdump for one proxy. Call `ready()` next. */
  static spawn(spec: MitmdumpSpec): MitmdumpProcess {
    const { proxy } = spec;
    const mode = spec.forward
      ? [
        "--mode",
        "regular",
        "--set",
        `confdir=${spec.forward.confdir}`,
        "--set",
        `allow_hosts=${spec.forward.allowHosts}`,
        "-s",
        spec.forward.addonPath,
        "--set",
        `probe_forward_map=${JSON.stringify(spec.forward.routes)}`,
      ]
      : ["--mode", `reverse:${spec.proxy.upstream}`];
    const args = [
      ...mode,
      ...listenArgs(proxy.port),
      "-s",
      spec.addonPath,
      "--set",
      `probe_output=${spec.output}`,
      "--set",
      `probe_proxy=${proxy.name}`,
      "--set",
      `probe_ready=${spec.readyFile}`,
      "--set",
      `probe_redaction=${spec.redactionFile}`,
    ];
    if (spec.keepSecrets) args.push("--set", "probe_keep_secrets=true");
    if (spec.inflight) args.push("--set", `probe_inflight=${spec.inflight}`);
    if (spec.upstreamCa) args.push("--set", `ssl_verify_upstream_trusted_ca=${spec.upstreamCa}`);
    // The upstream proxy goes through the environment: its credentials stay out of `ps`.
    const env: Record<string, string> = { PROBE_UPSTREAM_PROXY: spec.upstreamProxy ?? "" };
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(spec.path, {
        args,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        // A session (and process group) of its own: a terminal's Ctrl+C or hangup goes to the
        // foreground job (probe and the agent), not to the proxies, which stay up until the
        // agent exits and probe stops them.
        detached: true,
      }).spawn();
    } catch (err) {
      throw new ProbeError(
        `cannot start mitmdump at ${spec.path} (${(err as Error).message}): ${INSTALL_HINT}`,
      );
    }
    return new MitmdumpProcess(proxy, child, {
      forward: spec.forward !== undefined,
      confdir: spec.forward?.confdir ?? defaultConfdir(),
    });
  }

  /** Resolves once mitmdump's output is read to its end. */
  get drained(): Promise<void> {
    return this.#drained;
  }

  get pid(): number {
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#exited !== undefined;
  }

  /** Everything mitmdump printed (the last 64 KiB). */
  get output(): string {
    return this.#output;
  }

  async #drain(stream: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#output += decoder.decode(chunk, { stream: true });
        if (this.#output.length > OUTPUT_KEEP * 2) this.#output = this.#output.slice(-OUTPUT_KEEP);
      }
    } catch {
      // the pipe closed under us: nothing more to read
    }
  }

  /** Waits until the addon's ready file exists; throws a classified error if mitmdump exits. */
  async ready(readyFile: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (true) {
      if (this.#exited) {
        await this.#drained;
        throw startupError(this.proxy, this.#exited, this.#output, this.#where);
      }
      if (await exists(readyFile)) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new ProbeError(
          `mitmdump for proxy ${this.proxy.name} (port ${this.proxy.port}) did not start ` +
            `listening within ${READY_TIMEOUT_MS / 1000} s; its output:` + tail(this.#output),
        );
      }
      await within(this.status, POLL_MS);
    }
  }

  /** Kills mitmdump at once (SIGKILL): a forced stop, in-flight exchanges are lost. */
  kill(): void {
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Stops mitmdump (SIGTERM, so the addon records in-flight exchanges), waits for its exit. */
  async stop(): Promise<Deno.CommandStatus> {
    if (!this.#exited) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await within(this.status, STOP_TIMEOUT_MS);
      if (!this.#exited) {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    const status = await this.status;
    await this.#drained;
    return status;
  }
}

/**
 * What the addon said when it could not write the capture file (see Recorder._fail in
 * addon.py): "cannot write FILE: REASON (errno N)", or undefined.
 */
export function writeFailure(output: string): string | undefined {
  return /^probe: (cannot write .*)$/m.exec(output)?.[1];
}

/** mitmproxy's own confdir when none is set: `~/.mitmproxy`. */
function defaultConfdir(): string {
  const home = Deno.env.get("HOME");
  return home ? `${home.replace(/\/+$/, "")}/.mitmproxy` : "~/.mitmproxy";
}

/** What a start-up error needs besides the proxy: how to move its port, where its CA is. */
export interface StartContext {
  /** Forward mode: one proxy, moved with `--port PORT` (no NAME=). */
  forward: boolean;
  /** mitmproxy's confdir, where it keeps (or makes) its CA. */
  confdir: string;
}

/** Turns a mitmdump that exited during start-up into one error naming cause and fix. */
export function startupError(
  proxy: ProxySpec,
  status: Deno.CommandStatus,
  output: string,
  where: StartContext = { forward: false, confdir: "~/.mitmproxy" },
): ProbeError {
  const named = `proxy ${proxy.name}`;
  const portFlag = where.forward ? "--port PORT" : `--port ${proxy.name}=PORT`;
  if (/address already in use|errno 98|errno 48|eaddrinuse/i.test(output)) {
    return new ProbeError(
      `port ${proxy.port} (${named}) is already in use: pick another with ${portFlag}`,
    );
  }
  if (/permission denied|errno 13/i.test(output) && /bind|listen/i.test(output)) {
    return new ProbeError(
      `cannot listen on port ${proxy.port} (${named}): permission denied; pick another with ` +
        portFlag + tail(output),
    );
  }
  // mitmproxy reads its CA (or makes it) at start: a damaged key file stops it there, in
  // its certs module, whatever the addon.
  if (
    /mitmproxy[/\\]certs\.py|could not deserialize key data|unable to load pem file/i.test(output)
  ) {
    return unreadableCa(where.confdir, where.forward);
  }
  if (
    /error in script|addon error|traceback|syntaxerror|importerror|modulenotfounderror/i.test(
      output,
    )
  ) {
    return new ProbeError(
      `mitmdump failed to load probe's capture addon (${named}); probe needs mitmproxy ` +
        `${MIN_VERSION.join(".")} or newer: upgrade it (pipx upgrade mitmproxy). mitmdump said:` +
        tail(output),
    );
  }
  return new ProbeError(
    `mitmdump for ${named} (port ${proxy.port}) exited during start-up with ${describe(status)}; ` +
      `mitmdump said:` + tail(output),
  );
}

export function describe(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `status ${status.code}`;
}

/** The last lines of a process's output, indented under an error's first line. */
export function tail(text: string, lines = 12): string {
  const kept = text.split(/\r?\n/).map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  if (kept.length === 0) return " (no output)";
  return "\n" + kept.slice(-lines).map((l) => `    ${l}`).join("\n");
}

/** Waits for `promise`, at most `ms`; the timer is cleared either way (no leaked timers). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => id = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(id);
  }
}
