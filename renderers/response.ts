/**
 * Responses: normalised token usage, the final response body and the usual dispatch by shape.
 *
 * @module
 */

import { isRecord, type JsonObject, num } from "../lib/json.ts";
import type { Block, RenderedBody, ResponseView, SseEvent, Usage } from "../lib/types.ts";
import { fields, nonObjectBody } from "./blocks.ts";
import { inlineValue } from "./values.ts";
import { type ErrorColumn, type ErrorInfo, errorLines, errorsBlocks } from "./errors.ts";

/**
 * The usage line of the report: "245 input | 89 output | 334 total", followed by
 * " | N cached", " | N cache write" (" (M 1h)"), " | N tool prompt" and " | N reasoning" only
 * for counts above zero, server-tool requests ("web_search 2 requests") and each billed
 * sub-call ("+ compaction: ...").
 */
export function formatUsage(usage: Usage): string {
  const parts = [`${usage.input} input`, `${usage.output} output`, `${usage.total} total`];
  if ((usage.cached ?? 0) > 0) parts.push(`${usage.cached} cached`);
  if ((usage.cacheWrite ?? 0) > 0) {
    const h1 = usage.cacheWrite1h ?? 0;
    parts.push(`${usage.cacheWrite} cache write${h1 > 0 ? ` (${h1} 1h)` : ""}`);
  }
  if ((usage.toolPrompt ?? 0) > 0) parts.push(`${usage.toolPrompt} tool prompt`);
  if ((usage.reasoning ?? 0) > 0) parts.push(`${usage.reasoning} reasoning`);
  for (const [tool, n] of Object.entries(usage.serverTools ?? {})) {
    if (n > 0) parts.push(`${tool.replace(/_requests$/, "")} ${n} request${n === 1 ? "" : "s"}`);
  }
  let text = parts.join(" | ");
  for (const sub of usage.subCalls ?? []) {
    const who = sub.model ? ` (${sub.model})` : "";
    text += `; + ${sub.kind}${who}: ${formatUsage(sub.usage)}`;
  }
  return text;
}

/** Where an OpenAI-style `usage` object keeps its counts (see {@link tokenUsage}). */
export interface UsageKeys {
  input: string;
  output: string;
  inputDetails: string;
  outputDetails: string;
  /** The cache-write count in the input details, for APIs that report one. */
  cacheWrite?: string;
}

/**
 * Normalised usage of an OpenAI-style `usage` object (input counts include cached ones,
 * output counts reasoning ones; `total_tokens`, else their sum). Undefined without counts.
 */
export function tokenUsage(raw: unknown, keys: UsageKeys): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const input = num(raw[keys.input]);
  const output = num(raw[keys.output]);
  if (input === undefined && output === undefined) return undefined;
  const usage: Usage = {
    input: input ?? 0,
    output: output ?? 0,
    total: num(raw.total_tokens) ?? (input ?? 0) + (output ?? 0),
  };
  const inDetails = isRecord(raw[keys.inputDetails]) ? raw[keys.inputDetails] as JsonObject : {};
  const outDetails = isRecord(raw[keys.outputDetails]) ? raw[keys.outputDetails] as JsonObject : {};
  const cached = num(inDetails.cached_tokens);
  const cacheWrite = keys.cacheWrite === undefined ? undefined : num(inDetails[keys.cacheWrite]);
  const reasoning = num(outDetails.reasoning_tokens);
  if (cached !== undefined && cached > 0) usage.cached = cached;
  if (cacheWrite !== undefined && cacheWrite > 0) usage.cacheWrite = cacheWrite;
  if (reasoning !== undefined && reasoning > 0) usage.reasoning = reasoning;
  return usage;
}

/** What {@link finalBody} puts together. */
export interface FinalParts {
  /**
   * Summary rows (id, model, status, ...), a row without a value (undefined or "") left out;
   * the usage row is added after them.
   */
  rows: readonly (readonly [string, string | undefined])[];
  usage: Usage | undefined;
  /** Shown in the errors table, and listed as problems after `problems`. */
  errors: ErrorInfo[];
  /** The answer's own problems (a stop reason that cut it short, ...). */
  problems?: readonly string[];
  /** The answer's blocks (text, reasoning, tool calls, ...), after the errors. */
  content: Block[];
  model: string | undefined;
  /** Columns of the errors table (default: all but Status). */
  columns?: readonly ErrorColumn[];
  /** The raw usage object and the paths its usage line shows (see {@link usageFieldsText}). */
  rawUsage?: { raw: unknown; shown: ReadonlySet<string> };
}

/** The paths of an OpenAI-style usage object that {@link tokenUsage} reads. */
export function usagePaths(keys: UsageKeys): ReadonlySet<string> {
  const paths = [
    keys.input,
    keys.output,
    "total_tokens",
    `${keys.inputDetails}.cached_tokens`,
    `${keys.outputDetails}.reasoning_tokens`,
  ];
  if (keys.cacheWrite) paths.push(`${keys.inputDetails}.${keys.cacheWrite}`);
  return new Set(paths);
}

const MAX_USAGE_DEPTH = 6;

/**
 * The usage fields a usage line does not show, as "path: value" (e.g. "service_tier: standard,
 * input_tokens_details.audio_tokens: 12"): every leaf of `raw` whose path (or a parent's) is not
 * in `shown`, so no usage field the API sent is dropped. Null, zero and empty values are left
 * out (they change no count); undefined when nothing is left.
 */
export function usageFieldsText(raw: unknown, shown: ReadonlySet<string>): string | undefined {
  if (!isRecord(raw)) return undefined;
  const out: string[] = [];
  const walk = (obj: JsonObject, prefix: string, depth: number) => {
    for (const [k, v] of Object.entries(obj)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (shown.has(path) || v === null || v === undefined || v === 0 || v === "") continue;
      // Usage objects are two or three levels deep; deeper ones are shown as one value.
      if (isRecord(v) && depth < MAX_USAGE_DEPTH) walk(v, path, depth + 1);
      else if (!(Array.isArray(v) && v.length === 0)) out.push(`${path}: ${inlineValue(v)}`);
    }
  };
  walk(raw, "", 1);
  return out.length > 0 ? out.join(", ") : undefined;
}

/**
 * A final (or last known) response: summary fields ending with the usage, the errors table,
 * then the content; with the usage and the answering model.
 */
export function finalBody(f: FinalParts): RenderedBody & { problems: string[] } {
  const { usage, model } = f;
  const rows = f.rows.filter((r): r is [string, string] => r[1] !== undefined && r[1] !== "");
  if (usage) rows.push(["Usage", formatUsage(usage)]);
  const more = f.rawUsage && usageFieldsText(f.rawUsage.raw, f.rawUsage.shown);
  if (more) rows.push(["Usage fields", more]);
  const blocks: Block[] = rows.length > 0 ? [fields(rows)] : [];
  blocks.push(...errorsBlocks(f.errors, f.columns), ...f.content);
  const out: RenderedBody & { problems: string[] } = {
    blocks,
    problems: [...(f.problems ?? []), ...errorLines(f.errors)],
  };
  if (usage) out.usage = usage;
  if (model) out.model = model;
  return out;
}

/** Said of output assembled from a stream's deltas that never completed. */
export const PARTIAL_NOTE = "Cut off: assembled from delta events (never completed).";

/**
 * The usual response dispatch: an SSE stream to `stream`, a JSON object to `json`, anything
 * else shown by {@link nonObjectBody}.
 */
export function renderByShape(
  view: ResponseView,
  stream: (events: SseEvent[], view: ResponseView) => RenderedBody,
  json: (body: JsonObject, status: number) => RenderedBody,
): RenderedBody {
  if (view.kind !== "plain" && Array.isArray(view.events)) return stream(view.events, view);
  if (isRecord(view.body)) return json(view.body, view.status);
  return { blocks: nonObjectBody(view.body) };
}

/** `out` with the problem "no usage reported" when it has none (an answer should carry it). */
export function usageChecked(out: RenderedBody & { problems: string[] }): RenderedBody {
  return out.usage ? out : { ...out, problems: [...out.problems, "no usage reported"] };
}
