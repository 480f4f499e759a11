/** Parses the argv of `probe capture` into options. Throws UsageError for anything wrong. */
import { type OptionSpecs, parseArgs } from "../args.ts";
import { UsageError } from "../errors.ts";
import { isTargetFile, resolveTarget } from "../target_path.ts";
import { hasEmptyPort, upstreamProblem, withoutPassword } from "../upstream_url.ts";
import type { CaptureMode, ProxySpec, Target } from "../types.ts";
import { forwardHosts } from "./forward.ts";

/** Where forward mode's one proxy listens unless `--port` says otherwise. */
export const FORWARD_PORT = 8088;

export interface CaptureOptions {
  target: Target;
  /** `--mode`, else the target's default mode. */
  mode: CaptureMode;
  /** Forward mode's listen port (`--port PORT`; 0 = any free). */
  forwardPort: number;
  /** Forward mode's `--upstream HOST=URL` for hosts of the target that no proxy names. */
  hostRoutes: Record<string, string>;
  /** Proxies with `--port` / `--upstream` applied (port 0 = pick a free port at start). */
  proxies: ProxySpec[];
  /** `--output-dir`; undefined = a new timestamped folder. */
  outputDir?: string;
  /** `--upstream-proxy` as given (validated), undefined = direct. */
  upstreamProxy?: string;
  /** `--upstream-ca FILE`: extra CA bundle trusted for upstream TLS. */
  upstreamCa?: string;
  analyze: boolean;
  /** `--view`: serve the viewer on the capture while it runs. */
  view: boolean;
  keepSecrets: boolean;
  /** `--mitmdump PATH` (takes precedence over $PROBE_MITMDUMP). */
  mitmdump?: string;
  /** `--otlp URL`: send spans to this OTLP endpoint while capturing ("env": the variables). */
  otlp?: string;
  /** `--otlp-content`: include prompts and answers in the spans. */
  otlpContent: boolean;
  /** The all-in-one command after `--`; null = proxies-only mode. */
  command: string[] | null;
  help: boolean;
}

export const CAPTURE_USAGE = `usage: probe capture <target> [options] [-- command [args...]]

<target> is a built-in target's name (probe targets) or a target file of your own
(./my-agent.jsonc: a value with '/' or ending in .json/.jsonc).

Records every exchange with the target's API as JSONL. Without a command it runs until
Ctrl+C; with one it runs the command through probe, stops when it exits and exits with its
status.

Modes (default: the target's, see probe targets):
  forward   one HTTPS proxy with probe's own CA (probe ca): the command gets HTTPS_PROXY and
            CA variables, nothing else; only the target's hosts are intercepted and recorded,
            with their real URLs. The agent runs as it does without probe (subscription
            logins included).
  reverse   one local server per proxy of the target; the agent is pointed at it by a base
            URL or provider setting (what the target sets). No CA needed.

options:
  --mode forward|reverse   how to capture (see above)
  -o, --output-dir DIR     where traffic.jsonl goes (default: a new captures/<target>-<time>/)
  --port [NAME=]PORT       listen port of a proxy (repeatable; no NAME = first proxy; 0 = any
                           free); forward mode: --port PORT (default ${FORWARD_PORT})
  --upstream [NAME=]URL    where a proxy forwards to (repeatable; no NAME = first proxy); in
                           forward mode the requests to that proxy's host go to URL instead
                           (NAME may also be one of the target's hosts, probe targets NAME)
  --upstream-proxy URL     route upstream traffic through http://[user:pass@]host:port
  --upstream-ca FILE       also trust this CA (PEM) for upstream TLS
  --analyze                write the report next to the capture when it ends
  --view                   show the capture live in the browser (probe view); prints its URL;
                           when the command exits, an open page keeps it up until Ctrl+C
  --keep-secrets           store keys and tokens unredacted (the capture then holds secrets)
  --mitmdump PATH          mitmdump to use (default: $PROBE_MITMDUMP, then mitmdump on PATH)
  --otlp URL               also send each exchange as OpenTelemetry spans to URL/v1/traces as
                           it is recorded (a Collector, e.g. http://127.0.0.1:4318; "env" for
                           OTEL_EXPORTER_OTLP_ENDPOINT); a Collector that is down costs nothing
  --otlp-content           include prompts and answers (redacted) in those spans
  -h, --help               show this help`;

/** `probe capture`'s own options (before `--`). */
export const CAPTURE_OPTIONS = {
  "output-dir": { type: "string", short: "o" },
  "mode": { type: "string" },
  "port": { type: "string", multiple: true },
  "upstream": { type: "string", multiple: true },
  "upstream-proxy": { type: "string" },
  "upstream-ca": { type: "string" },
  "analyze": { type: "boolean" },
  "view": { type: "boolean" },
  "keep-secrets": { type: "boolean" },
  "mitmdump": { type: "string" },
  "otlp": { type: "string" },
  "otlp-content": { type: "boolean" },
  "help": { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

/** Reads a target file (lib/target_file.ts `loadTargetFileSync`, loaded by the caller). */
export type TargetFileLoader = (path: string, knownRenderers?: readonly string[]) => Target;

/**
 * `knownRenderers`, when given, are the renderer ids a target file may name; without them a
 * target file's renderer is checked by the analysis (`--analyze`, `probe analyze`).
 * `loadTargetFile` reads a target file; the caller loads it only when `argv` may name one
 * ({@link mayNameTargetFile}), as its JSONC parser is an npm package a capture does not
 * otherwise need.
 */
export function parseCaptureArgs(
  argv: readonly string[],
  targets: readonly Target[],
  knownRenderers?: readonly string[],
  loadTargetFile?: TargetFileLoader,
): CaptureOptions {
  const dash = argv.indexOf("--");
  const own = dash < 0 ? [...argv] : argv.slice(0, dash);
  const command = dash < 0 ? null : argv.slice(dash + 1);

  let parsed;
  try {
    parsed = parseArgs(own, CAPTURE_OPTIONS);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(`capture: ${err.message}`);
  }
  const { values, positionals } = parsed;
  const names = targets.map((t) => t.name).join(", ");
  if (values.help) {
    return {
      target: targets[0],
      mode: "reverse",
      forwardPort: FORWARD_PORT,
      hostRoutes: {},
      proxies: [],
      analyze: false,
      view: false,
      keepSecrets: false,
      otlpContent: false,
      command: null,
      help: true,
    };
  }
  if (positionals.length === 0) {
    throw new UsageError(`capture: name a target (one of: ${names}); see probe capture --help`);
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `capture: unexpected argument '${positionals[1]}': put the command to run after '--'`,
    );
  }
  let target: Target;
  try {
    target = resolveTarget(positionals[0], targets, (path) => {
      if (!loadTargetFile) throw new Error("parseCaptureArgs: a target file needs loadTargetFile");
      return loadTargetFile(path, knownRenderers);
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(`capture: ${err.message}`);
  }
  if (command !== null && command.length === 0) {
    throw new UsageError("capture: '--' must be followed by the command to run");
  }
  if (command !== null && command[0].trim() === "") {
    throw new UsageError("capture: the command after '--' is an empty word; name a program");
  }
  if (target.proxies.length === 0) {
    throw new UsageError(`capture: target '${target.name}' defines no proxy`);
  }

  const modeValue = values.mode ?? target.defaultMode ?? "reverse";
  if (modeValue !== "forward" && modeValue !== "reverse") {
    throw new UsageError(`capture: --mode ${modeValue}: use forward or reverse`);
  }
  const mode: CaptureMode = modeValue;
  let forwardPort = FORWARD_PORT;
  const proxies = target.proxies.map((p) => ({ ...p }));
  for (const spec of mode === "forward" ? values.port ?? [] : []) {
    if (values.port!.length > 1 || spec.includes("=")) {
      throw new UsageError(
        `capture: --port ${spec}: forward mode has one proxy: give --port PORT once`,
      );
    }
    forwardPort = parsePort(spec, spec);
  }
  const ported = new Set<string>();
  for (const spec of mode === "forward" ? [] : values.port ?? []) {
    const [proxy, value] = pick(spec, proxies, "--port");
    once(ported, proxy.name, "--port", spec);
    proxy.port = parsePort(value, spec);
  }
  const hostRoutes: Record<string, string> = {};
  const routed = new Set<string>();
  const hosts = mode === "forward" ? forwardHosts(target) : [];
  for (const spec of values.upstream ?? []) {
    const host = /^([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)=(.*)$/.exec(spec);
    if (host && hosts.includes(host[1].toLowerCase())) {
      once(routed, host[1].toLowerCase(), "--upstream", withoutPassword(spec));
      hostRoutes[host[1].toLowerCase()] = parseUpstream(host[2], spec).replace(/\/+$/, "");
      continue;
    }
    if (host) {
      // A host name no proxy has (proxy names have no dot): say which names work here.
      const names = proxies.map((p) => p.name).join(", ");
      throw new UsageError(
        mode === "forward"
          ? `capture: --upstream ${withoutPassword(spec)}: ${target.name} does not intercept ` +
            `${host[1]} (its hosts: ${hosts.join(", ")}; proxies: ${names})`
          : `capture: --upstream ${withoutPassword(spec)}: no proxy named '${host[1]}' ` +
            `(proxies: ${names}); HOST=URL works in --mode forward`,
      );
    }
    const [proxy, value] = pick(spec, proxies, "--upstream");
    once(routed, proxy.name, "--upstream", withoutPassword(spec));
    proxy.upstream = parseUpstream(value, spec);
  }
  const seen = new Map<number, string>();
  for (const p of proxies) {
    if (p.port === 0) continue;
    const other = seen.get(p.port);
    if (other) {
      throw new UsageError(
        `capture: proxies ${other} and ${p.name} both use port ${p.port}: give one another with --port ${p.name}=PORT`,
      );
    }
    seen.set(p.port, p.name);
  }

  let upstreamProxy: string | undefined;
  if (values["upstream-proxy"] !== undefined && values["upstream-proxy"] !== "") {
    upstreamProxy = parseUpstreamProxy(values["upstream-proxy"]);
  }
  for (
    const [flag, v] of [["--output-dir", values["output-dir"]], ["--mitmdump", values.mitmdump], [
      "--upstream-ca",
      values["upstream-ca"],
    ]] as const
  ) {
    if (v === "") throw new UsageError(`capture: ${flag} needs a non-empty value`);
  }
  if (values["otlp-content"] && !values.otlp) {
    throw new UsageError("capture: --otlp-content needs --otlp URL");
  }

  return {
    target,
    mode,
    forwardPort,
    hostRoutes,
    proxies,
    outputDir: values["output-dir"],
    upstreamProxy,
    upstreamCa: values["upstream-ca"],
    analyze: values.analyze ?? false,
    view: values.view ?? false,
    keepSecrets: values["keep-secrets"] ?? false,
    mitmdump: values.mitmdump,
    otlp: values.otlp,
    otlpContent: values["otlp-content"] ?? false,
    command,
    help: false,
  };
}

/** Refuses a second value for one proxy (or host): the first would be dropped unsaid. */
function once(seen: Set<string>, name: string, flag: string, spec: string): void {
  if (seen.has(name)) {
    throw new UsageError(`capture: ${flag} ${spec}: ${name} was given a ${flag} already`);
  }
  seen.add(name);
}

/** Splits `[NAME=]VALUE`; without NAME the value is for the first proxy. */
function pick(spec: string, proxies: ProxySpec[], flag: string): [ProxySpec, string] {
  const m = /^([A-Za-z0-9_-]+)=(.*)$/.exec(spec);
  if (m) {
    const proxy = proxies.find((p) => p.name === m[1]);
    if (!proxy) {
      const known = proxies.map((p) => p.name).join(", ");
      throw new UsageError(
        `capture: ${flag} ${spec}: no proxy named '${m[1]}' (proxies: ${known})`,
      );
    }
    return [proxy, m[2]];
  }
  return [proxies[0], spec];
}

function parsePort(value: string, spec: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`capture: --port ${spec}: the port must be a number from 0 to 65535`);
  }
  return Number(value);
}

function parseUpstream(value: string, spec: string): string {
  const problem = upstreamProblem(value);
  if (problem !== undefined) {
    throw new UsageError(`capture: --upstream ${withoutPassword(spec)}: ${problem}`);
  }
  return value;
}

function parseUpstreamProxy(value: string): string {
  const shown = withoutPassword(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      `capture: --upstream-proxy ${shown}: not a URL (expected http://[user:pass@]host:port)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      `capture: --upstream-proxy ${shown}: only http:// (or https://) proxies are supported`,
    );
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash) {
    throw new UsageError(`capture: --upstream-proxy ${shown}: give scheme, host and port only`);
  }
  if (hasEmptyPort(value)) {
    throw new UsageError(`capture: --upstream-proxy ${shown}: the port after ':' is missing`);
  }
  return value;
}

/** Host and port of an upstream-proxy URL (default port 80 / 443). */
export function proxyAddress(url: string): { hostname: string; port: number } {
  const u = new URL(url);
  const hostname = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port ? Number(u.port) : (u.protocol === "https:" ? 443 : 80);
  return { hostname, port };
}

/** The URL with any `user:pass@` removed, for messages. */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.toString();
}

/** Whether the target argument names a target file (false when the arguments are bad). */
export function mayNameTargetFile(argv: readonly string[]): boolean {
  const dash = argv.indexOf("--");
  try {
    const target = parseArgs(dash < 0 ? argv : argv.slice(0, dash), CAPTURE_OPTIONS)
      .positionals[0];
    return target !== undefined && isTargetFile(target);
  } catch {
    return false; // parseCaptureArgs reports it
  }
}
