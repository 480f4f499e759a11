/**
 * `deno task compile`: builds self-contained probe binaries with `deno compile`, one per
 * target, as `dist/probe-<target>`. Text and JSON imports (lib/addon.py, the price table, the
 * HTML assets, deno.json) are embedded by `deno compile` itself; nothing is read from the
 * source tree at run time (tests/compile_test.ts checks that).
 *
 * `deno compile` downloads the Deno runtime (denort) for each target from dl.deno.land unless
 * it is in the Deno cache. Without network it fails fast, with one line:
 * `compile: cannot download the Deno runtime for TARGET (offline?): REASON`. When the task may
 * reach dl.deno.land (`--allow-net=dl.deno.land`), a HEAD request checks the host as soon as
 * the download starts, so a network that drops packets fails in seconds, not minutes; in any
 * case a download that has not finished after `--download-timeout` seconds is stopped.
 *
 * Usage: deno task compile [--target T]... [--out-dir DIR] [--no-check]
 *                          [--download-timeout SECONDS]
 */
import { parseArgs } from "node:util";
import config from "../../deno.json" with { type: "json" };

/** The targets released, in build order. */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
];

/**
 * The permissions and V8 settings compiled into the binary: what `deno task probe` runs with,
 * read from deno.json so the two cannot differ. The V8 settings keep memory low and flat (see
 * README, Performance): a 1 MB young generation and a heap that grows slowly; none is a hard
 * limit, so a huge line still fits.
 */
export const PERMISSIONS: readonly string[] = config.tasks.probe.split(/\s+/).filter((a) =>
  a.startsWith("--")
);

const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const DOWNLOAD_HOST = "dl.deno.land";
/** How long the HEAD check of the download host may take. */
const PROBE_TIMEOUT_MS = 15_000;

/** The outcome of building one target. */
export type BuildResult =
  | { ok: true; output: string; bytes: number }
  | { ok: false; line: string; details?: string };

/** One `deno compile` run. */
export interface BuildOptions {
  target: string;
  outDir: string;
  check: boolean;
  /** Seconds a started runtime download may take. */
  downloadTimeout: number;
}

/** The innermost useful reason in `deno compile`'s error chain. */
export function downloadReason(stderr: string): string {
  // deno-lint-ignore no-control-regex
  const text = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const sending = /error sending request for url \([^)]*\): (.+)/.exec(text);
  if (sending) return sending[1].trim();
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const causes = lines.filter((l) => /^\d+: /.test(l));
  const last = causes.at(-1) ?? lines.find((l) => l.startsWith("error:")) ?? lines.at(-1);
  return (last ?? "unknown error").replace(/^\d+: /, "").replace(/^error: /, "");
}

/** Whether `deno compile` failed while getting the runtime (not on the program itself). */
function isDownloadFailure(stderr: string): boolean {
  return /Setting up base binary|denort|dl\.deno\.land/.test(stderr);
}

/** The host check; null when the host answers, else why not. */
async function hostProblem(url: string, cancel: AbortSignal): Promise<string | null> {
  try {
    const res = await fetch(url, {
      method: "HEAD",
      signal: AbortSignal.any([cancel, AbortSignal.timeout(PROBE_TIMEOUT_MS)]),
    });
    await res.body?.cancel();
    return res.ok ? null : `${url}: HTTP ${res.status}`;
  } catch (err) {
    const e = err as Error;
    return e.name === "TimeoutError"
      ? `no answer from ${DOWNLOAD_HOST} in ${PROBE_TIMEOUT_MS / 1000}s`
      : e.message;
  }
}

function mayReach(host: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "net", host }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * A stopped `deno compile` leaves its `OUTPUT.tmp-*` file behind; removed when this script may
 * write there (`--allow-write`), else left for the user.
 */
async function removeLeftovers(output: string): Promise<void> {
  const slash = output.lastIndexOf("/");
  const dir = slash === -1 ? "." : output.slice(0, slash) || "/";
  const base = output.slice(slash + 1);
  try {
    if (Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") return;
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.startsWith(`${base}.tmp-`)) await Deno.remove(`${dir}/${e.name}`);
    }
  } catch {
    // Best effort.
  }
}

/** Builds one target; never throws for a failed build. */
export async function buildTarget(opts: BuildOptions): Promise<BuildResult> {
  const output = `${opts.outDir}/probe-${opts.target}`;
  const args = [
    "compile",
    ...(opts.check ? [] : ["--no-check"]),
    ...PERMISSIONS,
    "--target",
    opts.target,
    "--output",
    output,
    `${ROOT}/main.ts`,
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let stderr = "";
  let stopped: string | null = null;
  let finished = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const probe = new AbortController();
  const stop = (reason: string) => {
    if (stopped !== null || finished) return;
    stopped = reason;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  };
  const onDownload = (url: string) => {
    timer = setTimeout(
      () => stop(`the download did not finish in ${opts.downloadTimeout}s`),
      opts.downloadTimeout * 1000,
    );
    if (mayReach(DOWNLOAD_HOST)) {
      hostProblem(url, probe.signal).then((problem) => {
        if (problem !== null) stop(problem);
      });
    }
  };

  const readErr = (async () => {
    let sawDownload = false;
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr += chunk;
      if (!sawDownload) {
        const m = /Download\S*\s+(https:\/\/dl\.deno\.land\/\S+)/.exec(
          // deno-lint-ignore no-control-regex
          stderr.replace(/\x1b\[[0-9;]*m/g, ""),
        );
        if (m) {
          sawDownload = true;
          onDownload(m[1]);
        }
      }
    }
  })();
  const readOut = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
    return text;
  })();
  const status = await child.status;
  const stdout = await readOut;
  await readErr;
  finished = true;
  clearTimeout(timer);
  probe.abort();

  const prefix = `compile: cannot download the Deno runtime for ${opts.target} (offline?)`;
  if (stopped !== null) {
    await removeLeftovers(output);
    return { ok: false, line: `${prefix}: ${stopped}` };
  }
  if (!status.success) {
    if (isDownloadFailure(stderr)) {
      return { ok: false, line: `${prefix}: ${downloadReason(stderr)}` };
    }
    return {
      ok: false,
      line: `compile: deno compile failed for ${opts.target} (exit code ${status.code})`,
      details: (stdout + stderr).trimEnd(),
    };
  }
  const bytes = (await Deno.stat(output)).size;
  return { ok: true, output, bytes };
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        target: { type: "string", multiple: true },
        "out-dir": { type: "string" },
        "no-check": { type: "boolean" },
        "download-timeout": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`compile: ${(err as Error).message}`);
    return 2;
  }
  const targets = values.target ?? [...TARGETS];
  for (const t of targets) {
    if (!TARGETS.includes(t)) {
      console.error(`compile: unknown target "${t}" (one of: ${TARGETS.join(", ")})`);
      return 2;
    }
  }
  const timeout = Number(values["download-timeout"] ?? "120");
  if (!Number.isFinite(timeout) || timeout <= 0) {
    console.error("compile: --download-timeout takes a number of seconds > 0");
    return 2;
  }
  const outDir = values["out-dir"] ?? `${ROOT}/dist`;
  for (const target of targets) {
    const result = await buildTarget({
      target,
      outDir,
      check: !values["no-check"],
      downloadTimeout: timeout,
    });
    if (!result.ok) {
      if (result.details) console.error(result.details);
      console.error(result.line);
      return 1;
    }
    console.error(`compile: ${result.output} (${(result.bytes / 2 ** 20).toFixed(1)} MiB)`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
