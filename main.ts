/**
 * probe: capture what an AI coding agent sends to its model API, and read it.
 *
 * The only module that prints errors and picks exit codes: 0 ok, 1 failure, 2 usage, and the
 * agent's own status in all-in-one capture. It hands the built-in targets, renderers and price
 * table to `lib/`, which imports none of them.
 */
import type { ReadLimits } from "./lib/jsonl.ts";
import { type OptionSpecs, parseCommandArgs } from "./lib/args.ts";
import { forwardHosts } from "./lib/capture/forward.ts";
import { ProbeError, UsageError } from "./lib/errors.ts";
import { plural } from "./lib/plural.ts";
import { extraRedactions } from "./lib/recognize.ts";
import type { PriceTable } from "./lib/prices.ts";
import { resolveTarget } from "./lib/target_path.ts";
import type { Renderer, Target } from "./lib/types.ts";
import { VERSION } from "./lib/version.ts";
import { visibleText } from "./lib/visible.ts";
import { builtinTargets } from "./targets/mod.ts";

/**
 * The renderers, loaded when a command needs them: a capture runs without them (and without
 * the analysis code) unless it analyzes or exports spans, so its process stays small.
 */
async function loadRenderers(): Promise<ReadonlyMap<string, Renderer>> {
  return (await import("./renderers/mod.ts")).builtinRenderers;
}

/** The price table: the user's `--prices FILE`, else the built-in one. */
async function loadPrices(file?: string): Promise<PriceTable> {
  // Loaded only when asked for: its JSONC parser is CommonJS, slow to load on every run.
  if (file) return await (await import("./lib/price_file.ts")).loadPriceTable(file);
  return (await import("./renderers/prices.ts")).builtinPriceTable();
}

const MAIN_HELP = `probe ${VERSION}: record an AI agent's model traffic and turn it into a report

Usage:
  probe capture <target> [options] [-- command ...]   record traffic through mitmdump
  probe analyze --input FILE|DIR|- ... [--target NAME] [--output FILE|-]
  probe view [PATH ...] [--port P] [--no-open]        browse captures in the browser
  probe export --har OUT.har --input FILE [--target NAME]   write a capture as HAR 1.2
  probe export --otlp URL --input FILE [--otlp-content]   send it to an OpenTelemetry Collector
  probe targets [NAME]                                list targets, or show one
  probe prices [--prices FILE]                        show the price table and its date
  probe ca [--mitmdump PATH]                          where probe's CA is, how to trust it
  probe --version | --help
  probe <command> --help                              help for one command
`;

const ANALYZE_HELP = `Usage: probe analyze --input FILE [--target NAME] [options]

Reads a JSONL capture (one exchange per line) and writes a report: problems, token usage and
estimated cost, endpoints, HTTP methods, status codes, payload structure, and the conversation
log with secrets redacted. Each request shows only what is new in its conversation unless
--full is given. Several captures (more --input values, or a folder such as captures/) make
one report, in time order.

Options:
  -t, --target NAME    target that produced the capture (report title, fallback renderer,
                       extra redactions): a built-in name, or a target file (.jsonc).
                       Without it, the agent is recognised from the capture's headers
                       (user-agent, originator): its title, or a neutral one when the
                       capture names none or several; every target's extra redactions
  -i, --input FILE     the capture, e.g. captures/codex-20260102-030405/traffic.jsonl; also a
                       .jsonl.gz, a HAR, - for standard input, or a folder (every *.jsonl,
                       *.jsonl.gz and *.har beneath it); repeatable, and more FILEs may
                       follow (--input captures/*/traffic.jsonl)
  -o, --output FILE    report path (default: analysis_report.md, .html or .json beside the
                       first input, inside it for a folder); - for stdout
  -f, --format FMT     markdown (default); html: one self-contained page, exchanges
                       collapsible, with a filter box; json: the analysis model, written
                       as it is read (per session: totals, conversations, subagents,
                       events, turns; lib/model/schema.json)
      --full           render every request in full instead of per-turn deltas
      --renderer ID    render every entry with this renderer instead of detecting each one
      --prices FILE    price table (JSONC) for the cost estimate instead of the built-in one
      --strict         exit with status 3 when the report lists any problem
      --max-line-mib N the longest capture line read, in MiB (default 256): a longer one
                       is an error, not unbounded memory
  -h, --help           show this help

Exit status: 0 ok, 1 failure, 2 usage error, 3 problems found (with --strict), 141 standard
output closed early (as a program ended by SIGPIPE).
`;

const EXPORT_HELP = `Usage: probe export --har OUT.har --input FILE [--target NAME]
       probe export --otlp URL --input FILE [--otlp-content] [--target NAME]

Writes a capture (JSONL, or a HAR) as a HAR 1.2 file for browser devtools, Charles and other HAR
viewers, or sends it as OpenTelemetry traces (GenAI semantic conventions: one span per model
call, one trace per conversation) to an OTLP/HTTP endpoint such as a Collector. Secrets are
redacted as in the report; the target adds its own header names.

Options:
      --har FILE       the HAR to write; - for stdout
      --otlp URL       OTLP/HTTP endpoint (spans go to URL/v1/traces), e.g.
                       http://127.0.0.1:4318; "env" for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
                       OTEL_EXPORTER_OTLP_ENDPOINT (OTEL_EXPORTER_OTLP_HEADERS adds headers)
      --otlp-content   include prompts, answers, system instructions and tool definitions
                       (redacted) in the spans; off by default
  -i, --input FILE     the capture (a .jsonl, .jsonl.gz or HAR; - for standard input), or
                       several, or a folder: exported as one, in time order; repeatable
      --max-line-mib N the longest capture line read, in MiB (default 256)
  -t, --target NAME    target whose extra redacted headers apply (a name or a target
                       file); without it, those of every built-in target
  -h, --help           show this help
`;

const PRICES_HELP = `Usage: probe prices [--prices FILE]

Prints the price table behind the report's cost estimate: the date it was checked, the price
per million tokens of each model (input, cached input, 5-minute and 1-hour cache writes,
output, long-context tier), aliases, and per-request server-tool fees. With --prices FILE,
prints that table instead (the same file analyze --prices takes). Models not listed get no
price in reports: a newer model is never priced as an older one.
`;

const TARGETS_HELP = `Usage: probe targets [NAME|FILE]

Without NAME lists the built-in targets; with NAME shows one in full. FILE is a target of your
own: a JSONC file (a value containing '/' or ending in .json/.jsonc) with the fields that
\`probe targets NAME\` shows; given a FILE, probe checks it and shows it the same way. Every
command that takes a target (capture, analyze --target, export --target) accepts a FILE too.
A file that cannot be read or has a wrong field is one error line naming the file and the key
(e.g. "my-agent.jsonc: proxies[0].port must be an integer 1-65535") and exit status 1.
`;

// Output that may quote a capture (a file name, a JSON error's excerpt, a target's text) goes
// out with controls and invisible characters made visible: a terminal never acts on them.
function print(line: string): void {
  console.log(visibleText(line));
}

function warn(line: string): void {
  console.error(visibleText(line));
}

/**
 * Exit status when standard output is closed early (`probe analyze -o - | head`): a quiet exit,
 * as a Unix tool killed by SIGPIPE (128 + 13), not a stack trace.
 */
export const EXIT_BROKEN_PIPE = 141;

function isBrokenPipe(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof Deno.errors.BrokenPipe) return true;
  }
  return false;
}

/**
 * A file named `name` in the first input's folder, or in the input when it is a folder (the
 * default report path); the current folder for standard input.
 */
function besideInput(input: string, name: string): string {
  if (input === "-") return name;
  if (isDirectory(input)) return `${input.replace(/\/+$/, "")}/${name}`;
  const slash = input.lastIndexOf("/");
  return slash === -1 ? name : input.slice(0, slash + 1) + name;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** The `--input` values and the positionals after them (`--input captures/*\/traffic.jsonl`). */
/**
 * `/dev/stdin` and `/dev/stdout` are `-`: they lead into /proc, which Deno opens only with
 * --allow-all, and standard input and output are what the user means.
 */
function streamAlias(path: string): string {
  return path === "/dev/stdin" || path === "/dev/stdout" ? "-" : path;
}

function inputValues(values: { input?: string[] }, positionals: string[], command: string) {
  const inputs = [...(values.input ?? []), ...positionals].map(streamAlias);
  if (inputs.length === 0) throw new UsageError(`${command}: --input FILE is required`);
  return inputs;
}

/** `--max-line-mib N` as a limit in characters. */
function readLimits(value: string | undefined, command: string): ReadLimits {
  if (value === undefined) return {};
  const mib = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(mib > 0) || mib > 511) {
    throw new UsageError(
      `${command}: --max-line-mib must be a number of MiB above 0 and below 512, not "${value}"`,
    );
  }
  return { maxLine: Math.floor(mib * 1024 * 1024) };
}

/**
 * A built-in target by name, or a target file (a value with '/' or ending in .json/.jsonc),
 * checked against the built-in renderers.
 */
function findTarget(name: string): Promise<Target> {
  return Promise.resolve(resolveTarget(name, builtinTargets, async (path) => {
    // Loaded only for a target file: its JSONC parser is CommonJS, slow to load on every run.
    const { loadTargetFile } = await import("./lib/target_file.ts");
    return await loadTargetFile(path, [...(await loadRenderers()).keys()]);
  }));
}

/** `probe analyze`'s options. */
export const ANALYZE_OPTIONS = {
  target: { type: "string", short: "t" },
  input: { type: "string", short: "i", multiple: true },
  output: { type: "string", short: "o" },
  format: { type: "string", short: "f" },
  full: { type: "boolean" },
  renderer: { type: "string" },
  prices: { type: "string" },
  strict: { type: "boolean" },
  "max-line-mib": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

async function analyzeCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, ANALYZE_OPTIONS, "analyze");
  if (values.help) {
    print(ANALYZE_HELP);
    return 0;
  }
  const inputs = inputValues(values, positionals, "analyze");
  const limits = readLimits(values["max-line-mib"], "analyze");
  const target = values.target ? await findTarget(values.target) : undefined;
  const format = values.format ?? "markdown";
  if (format !== "markdown" && format !== "html" && format !== "json") {
    throw new UsageError(`analyze: --format must be markdown, html or json, not "${format}"`);
  }
  const output = (values.output && streamAlias(values.output)) ??
    besideInput(
      inputs[0],
      `analysis_report.${{ markdown: "md", html: "html", json: "json" }[format]}`,
    );
  const builtinRenderers = await loadRenderers();
  if (values.renderer && !builtinRenderers.has(values.renderer)) {
    throw new UsageError(
      `analyze: unknown renderer "${values.renderer}"; known renderers: ${
        [...builtinRenderers.keys()].join(", ")
      }`,
    );
  }
  const { analyzeFile } = await import("./lib/analyze.ts");
  const { expandInputs, inputsLabel } = await import("./lib/inputs.ts");
  const files = await expandInputs(inputs);
  const result = await analyzeFile({
    input: files,
    sourceLabel: inputsLabel(inputs, files),
    limits,
    output,
    ...(target ? { target } : {}),
    targets: builtinTargets,
    renderers: builtinRenderers,
    warn,
    full: values.full ?? false,
    json: format === "json",
    // The HTML writer (and node:crypto for its CSP hash) loads only when asked for.
    writer: format === "html"
      ? (await import("./lib/html.ts")).htmlWriter
      : (await import("./lib/markdown.ts")).markdownWriter,
    ...(values.renderer ? { renderer: values.renderer } : {}),
    prices: await loadPrices(values.prices),
    ...(Deno.stderr.isTerminal() ? { progress: progressReporter(files) } : {}),
  });
  if (Deno.stderr.isTerminal()) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
  if (output !== "-") {
    print(
      `Wrote ${output} (${plural(result.entries, "request")}, ${
        plural(result.problems, "problem")
      })`,
    );
  }
  if (values.strict && result.problems > 0) {
    warn(`probe: ${plural(result.problems, "problem")} found (--strict)`);
    return 3;
  }
  return 0;
}

/** A one-line progress display on stderr ("analyzing: 120 MB of 1.0 GB, 3400 requests"). */
function progressReporter(inputs: string[]): (bytes: number, entries: number) => void {
  let total = 0;
  for (const input of inputs) {
    try {
      if (input !== "-") total += Deno.statSync(input).size;
    } catch {
      // The reader reports a missing file itself.
    }
  }
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const encoder = new TextEncoder();
  return (bytes, entries) => {
    const pct = total > 0 ? ` (${Math.floor(bytes / total * 100)}%)` : "";
    Deno.stderr.writeSync(
      encoder.encode(`\r\x1b[Kanalyzing: ${mb(bytes)} of ${mb(total)}${pct}, ${entries} requests`),
    );
  };
}

async function exportCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    har: { type: "string" },
    otlp: { type: "string" },
    "otlp-content": { type: "boolean" },
    input: { type: "string", short: "i", multiple: true },
    "max-line-mib": { type: "string" },
    target: { type: "string", short: "t" },
    help: { type: "boolean", short: "h" },
  }, "export");
  if (values.help) {
    print(EXPORT_HELP);
    return 0;
  }
  const inputs = inputValues(values, positionals, "export");
  const limits = readLimits(values["max-line-mib"], "export");
  if (!values.har && !values.otlp) {
    throw new UsageError("export: --har OUT.har or --otlp URL is required");
  }
  if (values["otlp-content"] && !values.otlp) {
    throw new UsageError("export: --otlp-content needs --otlp URL");
  }
  const { expandInputs, inputsLabel } = await import("./lib/inputs.ts");
  const files = await expandInputs(inputs);
  const target = values.target ? await findTarget(values.target) : undefined;
  const extra = extraRedactions(target, builtinTargets);
  if (values.otlp) {
    const { otlpExportCommand } = await import("./lib/otlp/command.ts");
    await otlpExportCommand({
      url: values.otlp,
      input: files,
      content: values["otlp-content"] ?? false,
      target,
      targets: builtinTargets,
      renderers: await loadRenderers(),
      print,
      warn,
    });
  }
  if (!values.har) return 0;
  const har = streamAlias(values.har);
  const { exportHar } = await import("./lib/export.ts");
  const result = await exportHar({
    input: files,
    sourceLabel: inputsLabel(inputs, files),
    limits,
    output: har,
    redactHeaders: extra,
    warn,
  });
  if (har !== "-") {
    print(`Wrote ${har} (${result.entries === 1 ? "1 entry" : `${result.entries} entries`})`);
  }
  return 0;
}

function hostsOf(t: Target): string {
  return forwardHosts(t).join(", ");
}

async function targetsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { help: { type: "boolean", short: "h" } },
    "targets",
  );
  if (values.help) {
    print(TARGETS_HELP);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("targets: takes at most one NAME");
  if (positionals.length === 0) {
    for (const t of builtinTargets) {
      const proxies = t.proxies.map((p) => `${p.name}=:${p.port}`).join(" ");
      print(`${t.name.padEnd(14)} ${t.description}`);
      print(`${"".padEnd(14)} proxies: ${proxies}; env: ${Object.keys(t.env).join(", ")}`);
      print(`${"".padEnd(14)} default mode: ${t.defaultMode ?? "reverse"}; hosts: ${hostsOf(t)}`);
    }
    print("");
    print("Your own: probe targets ./my-agent.jsonc (see probe targets --help).");
    return 0;
  }
  const t = await findTarget(positionals[0]);
  print(`${t.name}: ${t.description}`);
  print(`Report title: ${t.reportTitle}`);
  print(`Renderer: ${t.renderer}`);
  print(`Default mode: ${t.defaultMode ?? "reverse"} (--mode forward|reverse)`);
  print(`Hosts intercepted in forward mode: ${hostsOf(t)}`);
  print("Proxies:");
  for (const p of t.proxies) print(`  ${p.name}  :${p.port} -> ${p.upstream}  (${p.purpose})`);
  print("Environment:");
  for (const [k, v] of Object.entries(t.env)) print(`  ${k}=${v}`);
  if (t.commandArgs) {
    print(`Arguments added after '${t.commandArgs.program}' in all-in-one capture:`);
    for (const a of t.commandArgs.args) print(`  ${a}`);
  }
  if (t.manualSteps.length > 0) {
    print("Manual steps:");
    for (const s of t.manualSteps) print(`  - ${s}`);
  }
  print(
    `Redacted headers (besides the built-in list): ${t.redactedHeaders.join(", ") || "none"}`,
  );
  return 0;
}

async function pricesCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    prices: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, "prices");
  if (values.help) {
    print(PRICES_HELP);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`prices: unexpected argument "${positionals[0]}"; use --prices FILE`);
  }
  const { priceTableLines } = await import("./lib/prices.ts");
  for (const line of priceTableLines(await loadPrices(values.prices))) print(line);
  return 0;
}

async function captureCommandLazy(args: string[]): Promise<number> {
  // Loaded on demand: analyze never needs the capture machinery.
  const { captureCommand } = await import("./lib/capture/command.ts");
  return await captureCommand(args, {
    targets: builtinTargets,
    renderers: loadRenderers,
    prices: loadPrices,
    print,
    warn,
  });
}

const CA_HELP = `Usage: probe ca [--mitmdump PATH]

Prints where probe's own certificate authority is (forward mode's HTTPS proxy signs with it)
and how to trust it system-wide or per runtime; creates it on first use (with mitmdump) in
$PROBE_DATA_DIR/ca, else $XDG_DATA_HOME/probe/ca, else ~/.local/share/probe/ca (folder 0700,
key 0600).`;

async function caCommandLazy(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    { help: { type: "boolean", short: "h" }, mitmdump: { type: "string" } },
    "ca",
  );
  if (values.help) {
    print(CA_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`ca: unexpected argument '${positionals[0]}'`);
  const { caCommand } = await import("./lib/capture/ca_command.ts");
  return await caCommand(values.mitmdump, { print, target: builtinTargets[0] });
}

export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case undefined:
    case "-h":
    case "--help":
    case "help":
      print(MAIN_HELP);
      return command === undefined ? 2 : 0;
    case "-V":
    case "--version":
      print(`probe ${VERSION}`);
      return 0;
    case "analyze":
      return await analyzeCommand(rest);
    case "capture":
      return await captureCommandLazy(rest);
    case "targets":
      return targetsCommand(rest);
    case "ca":
      return await caCommandLazy(rest);
    case "export":
      return await exportCommand(rest);
    case "prices":
      return await pricesCommand(rest);
    case "view": {
      const { viewCommand } = await import("./lib/view/command.ts");
      return await viewCommand(rest, {
        findTarget,
        targets: builtinTargets,
        renderers: await loadRenderers(),
        prices: await loadPrices(),
        print,
        warn,
      });
    }
    default:
      throw new UsageError(`unknown command "${command}" (see probe --help)`);
  }
}

if (import.meta.main) {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (err) {
    if (isBrokenPipe(err)) {
      code = EXIT_BROKEN_PIPE;
    } else if (err instanceof ProbeError) {
      warn(`probe: error: ${err.message}`);
      code = err.exitCode;
    } else {
      console.error(visibleText(`probe: internal error: ${(err as Error)?.stack ?? err}`));
      code = 1;
    }
  }
  Deno.exit(code);
}
