/**
 * A capture session: every proxy of a target running as its own mitmdump, all writing to one
 * JSONL file. Start-up is all or nothing; `stop()` (or `await using`) stops every mitmdump
 * with SIGTERM, so in-flight exchanges are still written (marked incomplete), and removes the
 * temp dir that holds the addon and the ready files.
 */
import addonSource from "../addon.py" with { type: "text" };
import forwardAddonSource from "../forward_addon.py" with { type: "text" };
import { ProbeError } from "../errors.ts";
import { redactionPolicy } from "../redact.ts";
import type { ProxySpec, Target } from "../types.ts";
import { proxyAddress, withoutCredentials } from "./args.ts";
import { describe, type ForwardSpec, MitmdumpProcess, tail, writeFailure } from "./mitmdump.ts";

export interface SessionOptions {
  mitmdump: string;
  target: Target;
  /** Ports 0 are replaced by free ports. */
  proxies: readonly ProxySpec[];
  output: string;
  upstreamProxy?: string;
  upstreamCa?: string;
  keepSecrets: boolean;
  /** Have the addon mark exchanges in progress (`inflightFile`), for the live viewer. */
  markInflight?: boolean;
  /**
   * Forward mode: one mitmdump, an HTTPS proxy for these hosts, instead of one reverse proxy
   * per proxy spec; `proxies` is then the one forward proxy.
   */
  forward?: Omit<ForwardSpec, "addonPath">;
}

/** Why the session ended on its own: a mitmdump exited while the capture was running. */
export interface ProxyDeath {
  proxy: ProxySpec;
  message: string;
}

export class CaptureSession implements AsyncDisposable {
  readonly proxies: readonly ProxySpec[];
  readonly output: string;
  /** Where the addon marks exchanges in progress, when asked to (`markInflight`). */
  inflightFile?: string;
  /** Resolves when a mitmdump exits that `stop()` did not stop. */
  readonly died: Promise<ProxyDeath>;
  #processes: MitmdumpProcess[];
  #tempDir: string;
  #stopping = false;
  #stopped?: Promise<void>;

  private constructor(
    proxies: ProxySpec[],
    output: string,
    processes: MitmdumpProcess[],
    tempDir: string,
  ) {
    this.proxies = proxies;
    this.output = output;
    this.#processes = processes;
    this.#tempDir = tempDir;
    this.died = new Promise((resolve) => {
      for (const p of processes) {
        p.status.then(async (status) => {
          if (this.#stopping) return;
          await p.drained; // the addon's last words
          if (this.#stopping) return;
          resolve({
            proxy: p.proxy,
            message: recorderFailure(p) ??
              `mitmdump for proxy ${p.proxy.name} (port ${p.proxy.port}) exited with ` +
                `${describe(status)} during the capture` + tail(p.output),
          });
        });
      }
    });
  }

  /** Starts one mitmdump per proxy and waits until all listen; on any failure stops them all. */
  static async start(opts: SessionOptions): Promise<CaptureSession> {
    if (opts.upstreamProxy) await checkReachable(opts.upstreamProxy);
    const proxies = assignPorts(opts.proxies);
    const tempDir = await Deno.makeTempDir({ prefix: "probe-capture-" });
    const processes: MitmdumpProcess[] = [];
    try {
      const addonPath = `${tempDir}/probe_addon.py`;
      await Deno.writeTextFile(addonPath, addonSource, { mode: 0o600 });
      let forward: ForwardSpec | undefined;
      if (opts.forward) {
        forward = { ...opts.forward, addonPath: `${tempDir}/probe_forward.py` };
        await Deno.writeTextFile(forward.addonPath, forwardAddonSource, { mode: 0o600 });
      }
      // The addon masks with the lists reports and exports mask with: one policy.
      const redactionFile = `${tempDir}/redaction.json`;
      await Deno.writeTextFile(
        redactionFile,
        JSON.stringify(
          redactionPolicy(
            opts.target.redactedHeaders,
            Deno.env.get("PROBE_FINGERPRINT_KEY") || undefined,
          ),
        ),
        { mode: 0o600 },
      );
      // Two mitmdumps making mitmproxy's CA at once in a new confdir (~/.mitmproxy) race: one
      // can read the other's half-written key and exit (seen with 12.3.1 under load). The
      // first makes it alone then.
      const firstAlone = !forward && proxies.length > 1 && !(await defaultCaExists());
      const started: Promise<void>[] = [];
      for (const [i, proxy] of proxies.entries()) {
        // NAME.ready: the addon of an orphaned mitmdump looks for these (see addon.py).
        const readyFile = `${tempDir}/${i}.ready`;
        const p = MitmdumpProcess.spawn({
          path: opts.mitmdump,
          proxy,
          addonPath,
          output: opts.output,
          readyFile,
          upstreamProxy: opts.upstreamProxy,
          upstreamCa: opts.upstreamCa,
          keepSecrets: opts.keepSecrets,
          redactionFile,
          ...(opts.markInflight ? { inflight: `${tempDir}/inflight.jsonl` } : {}),
          forward,
        });
        processes.push(p);
        started.push(p.ready(readyFile));
        if (i === 0 && firstAlone) await Promise.allSettled(started);
      }
      const results = await Promise.allSettled(started);
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const session = new CaptureSession(proxies, opts.output, processes, tempDir);
      if (opts.markInflight) session.inflightFile = `${tempDir}/inflight.jsonl`;
      return session;
    } catch (err) {
      await Promise.all(processes.map((p) => p.stop()));
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  /** Proxy name -> port in use. */
  get ports(): Map<string, number> {
    return new Map(this.proxies.map((p) => [p.name, p.port]));
  }

  /** Stops every mitmdump (idempotent) and removes the temp dir. */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped ??= (async () => {
      try {
        await Promise.all(this.#processes.map((p) => p.stop()));
      } finally {
        await Deno.remove(this.#tempDir, { recursive: true }).catch(() => {});
      }
    })();
    return this.#stopped;
  }

  /**
   * After `stop()`: the first recorder that could not write the capture ("cannot write FILE:
   * REASON (errno N)"), if any. The command may see its proxy go and exit before `died` does.
   */
  writeFailure(): string | undefined {
    return this.#processes.map(recorderFailure).find((m) => m !== undefined);
  }

  /** A forced stop: kills every mitmdump (what is in flight is lost); `stop()` still cleans up. */
  kill(): void {
    this.#stopping = true;
    for (const p of this.#processes) p.kill();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The one-line story of a recorder that could not write, from its mitmdump's output. */
function recorderFailure(p: MitmdumpProcess): string | undefined {
  const failure = writeFailure(p.output);
  return failure &&
    `${failure}: the recorder of proxy ${p.proxy.name} stopped, as no exchange may go ` +
      `through unrecorded`;
}

/** Replaces port 0 by a free port (the OS picks one; released just before mitmdump binds it). */
function assignPorts(proxies: readonly ProxySpec[]): ProxySpec[] {
  const taken = new Set(proxies.map((p) => p.port).filter((p) => p !== 0));
  const out: ProxySpec[] = [];
  for (const p of proxies) {
    if (p.port !== 0) {
      out.push({ ...p });
      continue;
    }
    let port: number;
    do {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      port = (listener.addr as Deno.NetAddr).port;
      listener.close();
    } while (taken.has(port));
    taken.add(port);
    out.push({ ...p, port });
  }
  return out;
}

/** Fails fast, with the fix, when the upstream proxy does not accept connections. */
async function checkReachable(upstreamProxy: string): Promise<void> {
  const { hostname, port } = proxyAddress(upstreamProxy);
  const connecting = Deno.connect({ hostname, port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer within 10 s")), 10_000);
  });
  try {
    (await Promise.race([connecting, timeout])).close();
  } catch (err) {
    connecting.then((conn) => conn.close(), () => {}); // a late connection is closed, not leaked
    // Without --allow-net for that host probe cannot look; mitmdump still routes through it.
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return;
    }
    const reason = err instanceof Deno.errors.ConnectionRefused
      ? "connection refused"
      : (err as Error).message;
    throw new ProbeError(
      `upstream proxy ${withoutCredentials(upstreamProxy)} is unreachable (${reason}): start ` +
        `it, fix --upstream-proxy, or leave --upstream-proxy out to connect directly`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Whether mitmproxy's own CA is in its default confdir (~/.mitmproxy) already. */
async function defaultCaExists(): Promise<boolean> {
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) return false;
  try {
    return (await Deno.stat(`${home}/.mitmproxy/mitmproxy-ca.pem`)).isFile;
  } catch {
    return false;
  }
}
