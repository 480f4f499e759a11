/**
 * `probe analyze`: capture file → report. One pass over the input: each entry feeds the
 * statistics and is rendered at once into the report's log (report_log.ts), so memory stays
 * flat; the summary (which needs every entry) is written first and the log after it.
 */
import { replaceFile } from "./atomic_file.ts";
import { harInputNames, malformedWarner, readInputs, refuseOverwritingInput } from "./inputs.ts";
import { inputName, type ReadLimits } from "./jsonl.ts";
import { headerRedactor, maskEmbeddedIn, maskKeyShapes, redactUrl } from "./redact.ts";
import { markdownWriter } from "./markdown.ts";
import { responseView } from "./response_view.ts";
import { rendererChooser } from "./renderer_choice.ts";
import { exchangeDoc, summaryDoc } from "./report.ts";
import { type ByteWriter, ReportLog, writeAll } from "./report_log.ts";
import { ConversationTracker } from "./conversation.ts";
import { AgentTally, extraRedactions } from "./recognize.ts";
import type { PriceTable } from "./prices.ts";
import { CaptureStats } from "./stats.ts";
import { Totals } from "./totals.ts";
import type { Renderer, ReportWriter, Target } from "./types.ts";
import { VERSION } from "./version.ts";
import { ModelBuilder } from "./model/build.ts";
import { modelInput } from "./model/input.ts";
import { ModelJsonWriter } from "./model/json.ts";
import { modelSections } from "./model/sections.ts";

export { rendererChooser, responseView };

export interface AnalyzeOptions {
  /**
   * The capture, or several (read as one, in time order: lib/inputs.ts); "-" is standard
   * input. Folders are expanded by the caller (`expandInputs`).
   */
  input: string | readonly string[];
  /** A file path, or "-" for standard output. */
  output: string;
  /**
   * The agent named by `--target`: the report's title, its extra redactions and its renderer
   * for exchanges no renderer recognises. Without it they come from the capture (`targets`).
   */
  target?: Target;
  /**
   * The targets probe knows: the agent a capture names in its headers is recognised among
   * them, and their session headers group requests into conversations.
   */
  targets?: readonly Target[];
  renderers: ReadonlyMap<string, Renderer>;
  /** Receives warnings (one line each, no trailing newline). */
  warn: (line: string) => void;
  /** Generation time shown in the header (injected by tests for stable output). */
  now?: Date;
  /** How the input is named in the header; defaults to `input`. */
  sourceLabel?: string;
  /** Output format; Markdown by default. */
  writer?: ReportWriter;
  /** Write the analysis model as JSON (lib/model/schema.json) instead of a report. */
  json?: boolean;
  /** A renderer id that renders every entry, instead of detecting each entry's format. */
  renderer?: string;
  /** Show every request in full (the seed's view) instead of per-turn deltas. */
  full?: boolean;
  /**
   * Prices for the cost estimate: the built-in table (renderers/prices.ts) or the user's file,
   * handed in by `main.ts`.
   */
  prices: PriceTable;
  /** Called now and then with the bytes read so far and the entries analyzed. */
  progress?: (bytesRead: number, entries: number) => void;
  /** Limits on the input (the longest line). */
  limits?: ReadLimits;
}

export interface AnalyzeResult {
  entries: number;
  /** How many problems the report lists (malformed lines included). */
  problems: number;
  /** The report path, or "-". */
  output: string;
}

/** Problems listed in the summary; the rest are counted (each is shown at its exchange). */
const MAX_LISTED_PROBLEMS = 200;

/** Minimum time between two progress reports, in milliseconds. */
const PROGRESS_INTERVAL = 250;

/**
 * Reads a capture and writes its report. The renderers, the targets and the price table are
 * handed in: this module knows no API. Without `target`, the agent is recognised among `targets`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { analyzeFile } from "./analyze.ts";
 * import { NO_PRICES } from "./prices.ts";
 * import type { Renderer } from "./types.ts";
 *
 * // A made-up API: each renderer says which exchanges are its own.
 * const echo: Renderer = {
 *   id: "echo",
 *   name: "Echo API",
 *   detect: (req) => (req.path === "/echo" ? 100 : 0),
 *   renderRequest: (body) => ({ blocks: [{ kind: "paragraph", text: `said ${body}` }] }),
 *   renderResponse: (view) => ({ blocks: [{ kind: "paragraph", text: `heard ${view.body}` }] }),
 * };
 * const dir = await Deno.makeTempDir();
 * const entry = {
 *   timestamp: 1700000000,
 *   request: { method: "POST", url: "http://h/echo", headers: {}, body: "hello" },
 *   response: { status_code: 200, headers: {}, body: "hello" },
 * };
 * await Deno.writeTextFile(`${dir}/capture.jsonl`, JSON.stringify(entry) + "\n");
 * const result = await analyzeFile({
 *   input: `${dir}/capture.jsonl`,
 *   output: `${dir}/report.md`,
 *   renderers: new Map([["echo", echo]]),
 *   prices: NO_PRICES,
 *   warn: () => {},
 * });
 * assert.equal(result.entries, 1);
 * const report = await Deno.readTextFile(`${dir}/report.md`);
 * assert.match(report, /^# Traffic Analysis Report/);
 * assert.match(report, /said hello[\s\S]*heard hello/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function analyzeFile(opts: AnalyzeOptions): Promise<AnalyzeResult> {
  await refuseOverwritingInput(opts.output, opts.input, "--output");
  const chooseRenderer = rendererChooser(opts.renderers, opts.target, opts.renderer);
  const writer = opts.writer ?? markdownWriter;
  const prices = opts.prices;
  const known = [...new Set([...(opts.targets ?? []), ...(opts.target ? [opts.target] : [])])];
  const redactHeaders = headerRedactor(extraRedactions(opts.target, known));
  const agents = new AgentTally(known);
  const stats = new CaptureStats();
  const totals = new Totals(prices);
  const conversations = new ConversationTracker(known.flatMap((t) => t.sessionHeaders ?? []));
  const paths = typeof opts.input === "string" ? [opts.input] : opts.input;
  const sourceLabel = opts.sourceLabel ?? paths.map(inputName).join(", ");
  const model = new ModelBuilder({
    id: "1",
    source: sourceLabel,
    // Without a target, the agents recognised (known once every entry is read).
    agent: opts.target?.name ?? "",
    prices,
    // A report shows the first conversations and counts, the JSON is written as the capture is
    // read: memory must grow with neither.
    keep: opts.json ? "stream" : "digest",
  });
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(text);
  };
  let bytesRead = 0;
  let lastProgress = 0;
  const onBytes = opts.progress
    ? (n: number) => {
      bytesRead += n;
      const now = Date.now();
      if (now - lastProgress >= PROGRESS_INTERVAL) {
        lastProgress = now;
        opts.progress!(bytesRead, stats.requests);
      }
    }
    : undefined;

  await using log = new ReportLog();
  await using json = opts.json ? new ModelJsonWriter() : undefined;
  let start: number | undefined;
  const several = paths.length > 1;
  const warnMalformed = malformedWarner(opts.warn, await harInputNames(paths));
  const entries = readInputs(paths, (source, line, reason) => {
    warnMalformed(source, line, reason);
    problem(`${several ? `${source}:` : "line "}${line}: malformed line skipped (${reason})`);
  }, {
    onBytes,
    limits: opts.limits,
    onSkipped: (message) => {
      opts.warn(`warning: skipping ${message}`);
      problem(`skipped ${message}`);
    },
  });
  for await (const { entry, line } of entries) {
    start ??= entry.timestamp;
    if (!opts.target) agents.add(entry.request.headers);
    const response = responseView(entry);
    stats.add(entry, response?.kind === "plain" ? undefined : response?.events);
    const renderer = chooseRenderer(entry);
    const rendered = exchangeDoc({
      index: stats.requests,
      entry,
      response,
      renderer,
      redactHeaders,
      redactUrl,
      start,
      conversations,
      full: opts.full ?? false,
      prices,
    });
    const { doc } = rendered;
    for (const p of rendered.problems) problem(`#${doc.index} ${doc.method} ${doc.path}: ${p}`);
    const input = modelInput(stats.requests, line, entry, renderer, {
      conversation: rendered.conversation,
      requestModel: rendered.request.model,
      response: rendered.response,
      problems: rendered.problems,
    });
    if (renderer.modelTurns !== false) {
      // An exchange that carries several model calls counts each as a request.
      for (const c of input.calls ?? [input]) totals.addUsage(c.model, c.usage);
    }
    totals.addTiming(doc.path, entry);
    const turns = model.add(input);
    // Key shapes are masked in the written text: whatever a renderer shows of a prompt, an
    // answer or a tool's output, a key in it does not reach the report.
    if (json) await json.add(model, turns);
    else await log.write(maskKeyShapes(writer.exchange(maskEmbeddedIn(doc))));
  }
  const session = model.build();
  if (!opts.target) session.agent = agents.agents().join(", ");
  const result: AnalyzeResult = {
    entries: stats.requests,
    output: opts.output,
    problems: problemCount,
  };
  if (json) {
    await json.add(model, [], true);
    await writeReport(opts.output, (out) => json.copyTo(out, session, VERSION));
    return result;
  }
  const summary = summaryDoc({
    title: opts.target?.reportTitle ?? agents.title(),
    source: sourceLabel,
    generated: opts.now ?? new Date(),
    version: VERSION,
    stats,
    totals,
    prices,
    problems,
    problemCount,
    modelSections: modelSections(model.digest()),
    ...(opts.target ? {} : { agents: agents.agents() }),
  });
  const head = new TextEncoder().encode(maskKeyShapes(writer.begin(maskEmbeddedIn(summary))));
  const tail = new TextEncoder().encode(writer.end());
  await writeReport(opts.output, async (out) => {
    await writeAll(out, head);
    await log.copyTo(out);
    await writeAll(out, tail);
  });
  return result;
}

/**
 * Writes the report (`write` writes it to the sink it is given). A file report is written
 * beside its destination and renamed into place, so a failed run never leaves half a report
 * where a good one was.
 */
async function writeReport(
  output: string,
  write: (out: ByteWriter) => Promise<void>,
): Promise<void> {
  if (output === "-") {
    await write(Deno.stdout);
    return;
  }
  // Written 0600 (the capture's own mode): a report holds prompts, code and account data.
  await replaceFile(output, "report", async (partial) => {
    using out = await Deno.open(partial, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    await write(out);
  });
}
