/**
 * `probe capture <target> [options] [-- command ...]`: the entry point main.ts calls.
 * Proxies-only mode runs until SIGINT/SIGTERM; all-in-one mode runs the command through the
 * proxies and exits with its status (with --view and a page open, once Ctrl+C closes the
 * live view). Either way every recorded exchange is kept.
 */
import { type CaPaths, caPaths, finishCa, prepareCaDir } from "../ca.ts";
import { ProbeError } from "../errors.ts";
import { fillAll, fillEnv } from "../placeholders.ts";
import type { PriceTable } from "../prices.ts";
import { plural } from "../plural.ts";
import { isKeyShaped, maskKeyShapes, REDACTED } from "../redact.ts";
import type { Renderer, Target } from "../types.ts";
import {
  CAPTURE_USAGE,
  type CaptureOptions,
  mayNameTargetFile,
  parseCaptureArgs,
  withoutCredentials,
} from "./args.ts";
import { allowHostsPattern, forwardEnv, forwardHosts, forwardRoutes, NO_PROXY } from "./forward.ts";
import { checkMitmdumpVersion, locateMitmdump } from "./mitmdump.ts";
import {
  type CaptureOutput,
  discardIfEmpty,
  prepareOutput,
  REPORT_FILE,
  summarize,
} from "./output.ts";
import { buildCommand, CommandNotRun, exitCodeOf, shellQuote, spawnCommand } from "./run.ts";
import { CaptureSession } from "./session.ts";
import { inTerminalForeground, StopSignals } from "./signals.ts";

export interface CaptureContext {
  targets: readonly Target[];
  /**
   * Loads the renderers: only a capture that analyzes, exports spans or checks a target file
   * needs them, and a capture's own process stays small without them.
   */
  renderers: () => Promise<ReadonlyMap<string, Renderer>>;
  /** Loads the built-in price table, for the report and the live viewer's cost. */
  prices: () => Promise<PriceTable>;
  /** Writes one line to standard output. */
  print: (line: string) => void;
  /** Writes one line to standard error. */
  warn: (line: string) => void;
  /** Environment to read PROBE_MITMDUMP/PATH from and to lay the target's env over. */
  env?: Record<string, string>;
}

export async function captureCommand(
  argv: readonly string[],
  ctx: CaptureContext,
): Promise<number> {
  // A target file's reader (an npm JSONC parser) and the renderers load only when needed.
  const targetFile = mayNameTargetFile(argv)
    ? {
      load: (await import("../target_file.ts")).loadTargetFileSync,
      renderers: [...(await ctx.renderers()).keys()],
    }
    : undefined;
  const opts = parseCaptureArgs(argv, ctx.targets, targetFile?.renderers, targetFile?.load);
  if (opts.help) {
    for (const line of CAPTURE_USAGE.split("\n")) ctx.print(line);
    return 0;
  }
  const env = ctx.env ?? Deno.env.toObject();
  const mitmdump = await locateMitmdump(opts.mitmdump, env);
  await checkMitmdumpVersion(mitmdump);
  if (opts.keepSecrets) {
    ctx.warn(
      "probe: warning: --keep-secrets: keys and tokens are stored unredacted in the capture",
    );
  }
  // Loaded only with --otlp; a bad endpoint is a usage error before anything starts.
  const otlp = opts.otlp ? await import("../otlp/command.ts") : undefined;
  const endpoint = otlp?.otlpEndpoint(opts.otlp!, env);
  const ca = opts.mode === "forward" ? caPaths(env) : undefined;
  if (ca) await prepareCaDir(ca);
  const out = await prepareOutput(opts.outputDir, opts.target.name);

  // In all-in-one mode standard output belongs to the command: probe talks on stderr.
  // A closed terminal (hangup) must not stop the closing work (--analyze's report) halfway.
  const say = untilGone(opts.command ? ctx.warn : ctx.print);
  const warn = untilGone(ctx.warn);
  let code: number;
  {
    // Listening before the first mitmdump starts: a signal during start-up still stops them.
    using signals = new StopSignals();
    await using session = await CaptureSession.start({
      mitmdump,
      target: opts.target,
      proxies: ca ? [forwardProxy(opts.forwardPort)] : opts.proxies,
      output: out.file,
      upstreamProxy: opts.upstreamProxy,
      upstreamCa: opts.upstreamCa,
      keepSecrets: opts.keepSecrets,
      markInflight: opts.view,
      forward: ca && {
        confdir: ca.dir,
        allowHosts: allowHostsPattern(forwardHosts(opts.target)),
        routes: { ...forwardRoutes(opts.target, opts.proxies), ...opts.hostRoutes },
      },
    }).then(async (session) => {
      // mitmdump made the CA on its first start (or reused it): keys private, bundle fresh.
      if (ca) {
        await finishCa(ca, env).catch(async (err) => {
          await session.stop();
          throw err;
        });
      }
      return session;
    }).catch(async (err) => {
      // A stop asked for during start-up: a stop, not a failure.
      if (signals.received) return null;
      await discardIfEmpty(out); // no empty capture folder left behind by a failed start
      throw err;
    });
    if (!session || signals.received) {
      say(`Stopped by ${signals.received} during start-up; ${out.file} is empty.`);
      return signals.received === "SIGINT" ? 130 : 143;
    }
    if (ca) forwardBanner(session, opts, ca, out, say);
    else banner(session, opts, out, say);
    // The viewer follows the capture file as the recorder appends to it.
    await using viewer = opts.view
      ? await startLiveViewer(out.file, session.inflightFile, opts, ctx)
      : undefined;
    if (viewer) {
      say("Live view (open in a browser):");
      say(viewer.url);
    }
    if (endpoint) say(`OpenTelemetry: spans to ${endpoint.url} as exchanges are recorded`);
    const live = otlp && endpoint
      ? otlp.startLiveExport({
        file: out.file,
        endpoint,
        content: opts.otlpContent,
        target: opts.target,
        renderers: await ctx.renderers(),
      })
      : undefined;
    try {
      code = opts.command
        ? await runCommand(session, signals, opts, opts.command, env, say, ca)
        : await waitForStop(session, signals, say);
      await session.stop();
    } catch (err) {
      // Nothing ran: no empty capture is left to refuse the corrected command's -o DIR.
      if (err instanceof CommandNotRun) {
        await session.stop();
        await discardIfEmpty(out);
      }
      throw err;
    } finally {
      if (live && otlp) say(otlp.liveSummary(await live.stop()));
    }
    if (viewer && opts.command && signals.received === null && viewer.watched()) {
      // A page is looking at the live view: the command's exit does not take it away before
      // the page has shown the last exchange (and the person has read it).
      viewer.end();
      say(
        `${
          opts.command[0].split("/").pop()
        } exited; the live view stays open for the page showing it ` +
          `(Ctrl+C stops it)`,
      );
      await signals.first;
    }
  }
  await closing(out, opts, ctx, say, warn);
  return code;
}

async function startLiveViewer(
  file: string,
  inflight: string | undefined,
  opts: CaptureOptions,
  ctx: CaptureContext,
) {
  // Loaded only with --view.
  const { startViewer } = await import("../view/server.ts");
  return startViewer({
    paths: [file],
    target: opts.target,
    targets: ctx.targets,
    renderers: await ctx.renderers(),
    prices: await ctx.prices(),
    follow: true,
    ...(inflight ? { inflight } : {}),
  });
}

function banner(
  session: CaptureSession,
  opts: CaptureOptions,
  out: CaptureOutput,
  say: (line: string) => void,
): void {
  const ports = session.ports;
  say(`probe capture: ${opts.target.name} (${opts.target.description})`);
  for (const p of session.proxies) say(`  :${p.port} -> ${p.upstream}  (${p.purpose})`);
  if (opts.upstreamProxy) say(`  upstream proxy: ${withoutCredentials(opts.upstreamProxy)}`);
  const envLines = Object.entries(fillEnv(opts.target.env, ports));
  if (envLines.length) {
    say("Environment overrides for target:");
    for (const [k, v] of envLines) say(`  export ${k}=${shellQuote(v)}`);
  }
  const extra = opts.target.commandArgs;
  if (extra) {
    const args = fillAll(extra.args, ports).map(shellQuote).join(" ");
    say(`Arguments for ${extra.program} (added automatically after '--'):`);
    say(`  ${extra.program} ${args} ...`);
  }
  const steps = fillAll(opts.target.manualSteps, ports);
  if (steps.length) {
    say("Manual setup required:");
    for (const s of steps) say(`  - ${s}`);
  }
  say(`Recording to: ${out.file}`);
}

/** Forward mode's one proxy (its name is the `proxy` field of what it records). */
function forwardProxy(port: number) {
  return { name: "forward", port, upstream: "", purpose: "HTTPS proxy with probe's CA" };
}

function forwardBanner(
  session: CaptureSession,
  opts: CaptureOptions,
  ca: CaPaths,
  out: CaptureOutput,
  say: (line: string) => void,
): void {
  const port = session.proxies[0].port;
  say(`probe capture: ${opts.target.name} (${opts.target.description}), forward mode`);
  say(`  HTTPS proxy 127.0.0.1:${port}, CA ${ca.cert}`);
  const routes = { ...forwardRoutes(opts.target, opts.proxies), ...opts.hostRoutes };
  for (const host of forwardHosts(opts.target)) {
    say(`  intercepts ${host}${routes[host] ? ` -> ${routes[host]}` : ""}`);
  }
  say("  every other host is tunnelled unrecorded");
  if (opts.upstreamProxy) say(`  upstream proxy: ${withoutCredentials(opts.upstreamProxy)}`);
  if (!opts.command) {
    say("Run the agent in a shell with:");
    for (const [k, v] of Object.entries(forwardEnv(port, ca))) {
      say(`  export ${k}=${shellQuote(v)}`);
    }
    say(`(NO_PROXY keeps ${NO_PROXY} direct; probe ca says how to trust the CA elsewhere)`);
  }
  say(`Recording to: ${out.file}`);
}

/** Proxies-only mode: runs until SIGINT/SIGTERM (exit 0) or a mitmdump dies (ProbeError). */
async function waitForStop(
  session: CaptureSession,
  signals: StopSignals,
  say: (line: string) => void,
): Promise<number> {
  say("Press Ctrl+C to stop.");
  const death = await Promise.race([signals.first.then(() => null), session.died]);
  if (death) {
    await session.stop();
    throw new ProbeError(
      `${death.message}\ncapture stopped; what was recorded is kept in ${session.output}`,
    );
  }
  // A second Ctrl+C while the proxies write what is in flight: do not wait for them.
  signals.onSignal((_, n) => n > 1 && session.kill());
  return 0;
}

/**
 * All-in-one mode. The mitmdumps run in a session of their own, so a terminal's Ctrl+C or
 * hangup reaches probe and the command but not the proxies: an agent that survives Ctrl+C
 * (an interactive agent may cancel a turn on the first) keeps its proxies until it
 * exits. probe passes a signal on only when the command did not get it already (SIGTERM, or
 * probe not a terminal's foreground job); a second stop signal kills the command.
 */
async function runCommand(
  session: CaptureSession,
  signals: StopSignals,
  opts: CaptureOptions,
  command: string[],
  env: Record<string, string>,
  say: (line: string) => void,
  ca?: CaPaths,
): Promise<number> {
  const ports = session.ports;
  // Forward mode leaves the agent's own configuration alone: proxy and CA variables only.
  const argv = ca ? [...command] : buildCommand(command, opts.target, ports);
  const childEnv = ca
    ? { ...env, ...forwardEnv(session.proxies[0].port, ca) }
    : { ...env, ...fillEnv(opts.target.env, ports) };
  say(`Running: ${hideKeys(argv).map(shellQuote).join(" ")}`);
  const child = spawnCommand(argv, childEnv);
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // it has exited already
    }
  };
  const sharesTerminal = inTerminalForeground();
  let forcedBy: Deno.Signal | undefined;
  signals.onSignal((signal, n) => {
    if (n === 1) {
      const passOn = signal === "SIGTERM" || !sharesTerminal;
      const keep = `the proxies stay up until ${argv[0]} exits`;
      say(
        signal === "SIGINT"
          ? `probe: stopping; Ctrl-C again to force (${keep})`
          : `probe: ${signal}: stopping; ${passOn ? `passed on to ${argv[0]}, ` : ""}` +
            `a second signal forces (${keep})`,
      );
      if (passOn) kill(signal);
      return;
    }
    forcedBy ??= signal;
    kill("SIGKILL");
  });
  try {
    const result = await Promise.race([child.status, session.died]);
    if (!("proxy" in result)) {
      // Its proxy may have gone under it and the command exited before probe heard why.
      await session.stop();
      const failure = session.writeFailure();
      if (failure) {
        throw new ProbeError(
          `${failure}\ncapture stopped and the command ended (${argv[0]} exited with ` +
            `${exitCodeOf(result)}); what was recorded is kept in ${session.output}`,
        );
      }
      return exitCodeOf(forcedBy ? { ...result, signal: forcedBy } : result);
    }
    kill("SIGTERM");
    const status = await child.status;
    throw new ProbeError(
      `${result.message}\ncapture stopped and the command ended (${argv[0]} exited with ` +
        `${exitCodeOf(status)}); what was recorded is kept in ${session.output}`,
    );
  } finally {
    signals.onSignal(undefined);
  }
}

async function closing(
  out: CaptureOutput,
  opts: CaptureOptions,
  ctx: CaptureContext,
  say: (line: string) => void,
  warn: (line: string) => void,
): Promise<void> {
  const s = await summarize(out.file);
  const notes = [
    s.incomplete ? `${s.incomplete} incomplete` : "",
    s.failed ? `${s.failed} failed` : "",
  ].filter(Boolean);
  say(
    `Capture stopped: ${plural(s.entries, "exchange")} recorded` +
      (notes.length ? ` (${notes.join(", ")})` : "") + ` in ${out.file}`,
  );
  const report = `${out.dir.replace(/\/+$/, "")}/${REPORT_FILE}`;
  if (opts.analyze && s.entries === 0) {
    say("No report: nothing was recorded.");
  } else if (opts.analyze) {
    const { analyzeFile } = await import("../analyze.ts");
    const result = await analyzeFile({
      input: out.file,
      output: report,
      target: opts.target,
      renderers: await ctx.renderers(),
      prices: await ctx.prices(),
      warn,
    });
    say(`Report: ${result.output} (${plural(result.entries, "exchange")})`);
  } else {
    say("Analyze it with:");
    say(
      `  probe analyze --target ${opts.target.name} --input ${shellQuote(out.file)} --output ${
        shellQuote(report)
      }`,
    );
  }
}

/**
 * A line writer that goes quiet once its terminal or pipe is gone (a hangup: EIO; a closed
 * pipe: BrokenPipe): probe's own lines are news, not work, so the capture still stops cleanly
 * and --analyze still writes its report.
 */
export function untilGone(write: (line: string) => void): (line: string) => void {
  let gone = false;
  return (line) => {
    if (gone) return;
    try {
      write(line);
    } catch (err) {
      if (!outputGone(err)) throw err;
      gone = true;
    }
  };
}

function outputGone(err: unknown): boolean {
  if (err instanceof Deno.errors.BrokenPipe) return true;
  // A hung-up terminal: Deno has no class of its own for EIO.
  return err instanceof Error && /\(os error 5\)$/.test(err.message);
}

/** Flags whose value is a key (`-k KEY`, `--api-key KEY`, ...). */
const KEY_FLAG = /^(-k|--key|--api-key|--token|--auth-token)$/;
/**
 * A variable assignment whose name says it holds a secret (`SERVICE_API_KEY=…`,
 * `GITHUB_TOKEN=…`), as `env NAME=VALUE agent` or inside a `sh -c` script; the value is quoted
 * or runs to the next blank.
 */
const SECRET_ASSIGNMENT =
  /\b([A-Za-z_][A-Za-z0-9_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?))=("[^"]*"|'[^']*'|[^\s'"]+)/gi;
/** A credential after an auth scheme, as in a curl `-H 'authorization: Bearer …'`. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/**
 * The command as probe echoes it, with keys masked: given as arguments, as variable
 * assignments, after an auth scheme, or in a well-known key shape anywhere (a `sh -c` script
 * too). probe's own output must not carry a secret; the command itself gets the real values.
 */
export function hideKeys(argv: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const flagValue = /^(--(?:key|api-key|token|auth-token))=(.*)$/.exec(arg);
    if (flagValue) return `${flagValue[1]}=${REDACTED}`;
    if ((i > 0 && KEY_FLAG.test(argv[i - 1])) || isKeyShaped(arg)) return REDACTED;
    return maskKeyShapes(arg)
      .replace(SECRET_ASSIGNMENT, `$1=${REDACTED}`)
      .replace(SCHEME_CREDENTIAL, `$1 ${REDACTED}`);
  });
}
