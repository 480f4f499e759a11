/**
 * Tier-2 renderer for the OpenAI Responses API (`POST /v1/responses`, Codex's
 * `/backend-api/codex/responses`): the request's settings, instructions, input items and tools;
 * the response rebuilt from its SSE events (or a plain JSON response object), with usage and
 * the problems a reader should see first (errors, cut-off streams).
 *
 * Unknown fields, item types and event types are kept and shown raw; nothing here throws on
 * odd input.
 */

import { Confidence } from "../lib/detect.ts";
import type {
  Block,
  DetectInput,
  Entry,
  RenderedBody,
  Renderer,
  RequestParts,
  ResponseView,
  SseEvent,
} from "../lib/types.ts";
import { arr, isRecord, type JsonObject, num, remainingKeys, str } from "../lib/json.ts";
import { callBlocks, code, fields, heading, paragraph, rawSection, textSection } from "./blocks.ts";
import { apiErrorBody, type ErrorInfo, errorInfo } from "./errors.ts";
import { renderFromParts } from "./request_parts.ts";
import {
  finalBody,
  PARTIAL_NOTE,
  renderByShape,
  tokenUsage,
  usageChecked,
  type UsageKeys,
  usagePaths,
} from "./response.ts";
import { type FieldSpec, otherSettingsFor, settingsParts } from "./settings.ts";
import {
  eventsTitle,
  finishedStream,
  type ParsedSse,
  parseSseEvent,
  streamTruncation,
} from "./sse_events.ts";
import { capText, excerpt, firstLine } from "./text.ts";
import { oddToolRow, otherKeysCell, schemaParams, toolsPart, toolsSection } from "./tools.ts";
import {
  compactJson,
  imageUrlText,
  inlineValue,
  joinedText,
  listValue,
  objectSummary,
  opaque,
  prettyJson,
} from "./values.ts";
import { citationBlocks } from "./citations.ts";
import { withWebSocket } from "./openai_responses_ws.ts";
import { responsesFacts } from "./openai_responses_facts.ts";

/** Length of a table cell excerpt. */
const CELL = 200;
/** Cap for the instructions text (Codex sends ~20k characters). */
const MAX_INSTRUCTIONS = 200_000;

// ---------------------------------------------------------------------------------------------
// Request

/** Top-level request keys shown as label/value rows, in display order. */
const FIELD_SPECS: FieldSpec[] = [
  ["type", "Frame type", inlineValue],
  ["model", "Model", inlineValue],
  ["stream", "Stream", inlineValue],
  ["store", "Store", inlineValue],
  ["reasoning", "Reasoning", objectSummary],
  ["tool_choice", "Tool choice", objectSummary],
  ["parallel_tool_calls", "Parallel tool calls", inlineValue],
  ["max_output_tokens", "Max output tokens", inlineValue],
  ["previous_response_id", "Continues", inlineValue],
  ["prompt_cache_key", "Prompt cache key", inlineValue],
  ["include", "Include", listValue],
  ["text", "Text", objectSummary],
  ["service_tier", "Service tier", inlineValue],
  ["generate", "Generate", (v) => (v === false ? "false (prewarm: no output)" : inlineValue(v))],
];

function instructionsBlocks(instructions: unknown): Block[] {
  const title = "System prompt (instructions)";
  if (instructions === undefined) return [];
  return typeof instructions === "string"
    ? textSection(title, instructions, MAX_INSTRUCTIONS)
    : rawSection(title, "instructions is not a string:", instructions);
}

/** `[image: …]` reference of an input_image part; base64 data URLs reduced to type + size. */
function imageRef(part: JsonObject): string {
  return imageUrlText(part.image_url) || str(part.file_id) || "?";
}

/** The readable text of one content part (input_text, output_text, image, file, ...). */
function partText(part: unknown): string {
  if (typeof part === "string") return part;
  if (!isRecord(part)) return compactJson(part, 80);
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
    case "summary_text":
    case "reasoning_text":
      return str(part.text) ?? compactJson(part, 80);
    case "refusal":
      return `[refusal: ${str(part.refusal) ?? ""}]`;
    case "input_image":
      return `[image: ${imageRef(part)}]`;
    case "input_file":
      return `[file: ${str(part.filename) ?? str(part.file_id) ?? str(part.file_url) ?? "inline"}]`;
    case "input_audio":
      return "[audio]";
    default:
      return compactJson(part, 80);
  }
}

/** Text of a message's `content`: a string or an array of parts. */
function contentText(content: unknown): string {
  return joinedText(content, partText);
}

/**
 * Text of a tool output: a string, or an array of parts (Codex 0.169 sends
 * `custom_tool_call_output` as text parts) put back together as the tool wrote them: a part that
 * does not end a line is followed by a line break.
 */
function outputText(output: unknown): string {
  if (!Array.isArray(output)) return contentText(output);
  let text = "";
  for (const part of output) {
    const piece = partText(part);
    if (piece === "") continue;
    if (text !== "" && !text.endsWith("\n")) text += "\n";
    text += piece;
  }
  return text;
}

/** Summary texts of a reasoning item (or its raw text when it has no summary). */
function reasoningExcerpt(item: JsonObject): string {
  const texts = (value: unknown) => arr(value).map(partText).filter((t) => t !== "");
  const summary = texts(item.summary);
  const pieces = summary.length > 0 ? summary : texts(item.content);
  const encrypted = str(item.encrypted_content);
  let text = excerpt(pieces.join(" "), CELL);
  if (encrypted !== undefined) text += `${text ? " " : ""}[encrypted ${encrypted.length} chars]`;
  return text || "(no summary)";
}

function callIdNote(item: JsonObject): string {
  const id = str(item.call_id);
  return id ? ` [${id}]` : "";
}

/** The Content cell of one input item. */
function itemExcerpt(item: JsonObject, type: string): string {
  switch (type) {
    case "message":
      return excerpt(contentText(item.content), CELL);
    case "function_call": {
      const args = typeof item.arguments === "string"
        ? item.arguments
        : compactJson(item.arguments, 80);
      return `${str(item.name) ?? "?"}(${excerpt(args, 160)})${callIdNote(item)}`;
    }
    case "function_call_output":
    case "custom_tool_call_output":
      return `${str(item.call_id) ?? "?"} → ${excerpt(outputText(item.output), 160)}`;
    case "reasoning":
      return reasoningExcerpt(item);
    case "custom_tool_call":
      return `${str(item.name) ?? "?"}: ${excerpt(inlineValue(item.input ?? ""), 160)}${
        callIdNote(item)
      }`;
    case "additional_tools": {
      const tools = declaredTools(item);
      const names = tools.map((t) => (isRecord(t) ? toolParts(t).name : "?"));
      return excerpt(`${tools.length} tool(s), shown under Tools: ${names.join(", ")}`, CELL);
    }
    default: {
      const { type: _type, ...rest } = item;
      return excerpt(compactJson(rest, 80), CELL);
    }
  }
}

function inputRow(item: unknown, index: number): string[] {
  const n = String(index + 1);
  if (!isRecord(item)) {
    return [n, "", Array.isArray(item) ? "array" : typeof item, excerpt(compactJson(item), CELL)];
  }
  const type = str(item.type) ?? ("role" in item ? "message" : "(no type)");
  return [n, str(item.role) ?? "", type, itemExcerpt(item, type)];
}

/** The Parameters cell of a tool: parameter names, a custom tool's format, or its settings. */
function toolParams(tool: JsonObject, fn: JsonObject): string {
  if (fn.parameters !== undefined) return schemaParams(fn.parameters);
  if (isRecord(tool.format)) {
    const syntax = str(tool.format.syntax);
    return `format: ${inlineValue(tool.format.type)}${syntax ? ` (${syntax})` : ""}`;
  }
  return otherKeysCell(tool, TOOL_KEYS);
}

const TOOL_KEYS: ReadonlySet<string> = new Set(["type", "name", "description"]);

/** A tool definition; Chat-style `{type, function:{...}}` is tolerated. */
function toolParts(tool: JsonObject): { fn: JsonObject; name: string } {
  const fn = isRecord(tool.function) ? tool.function : tool;
  return { fn, name: str(fn.name) ?? str(tool.type) ?? "?" };
}

function toolRow(tool: unknown): string[] {
  if (!isRecord(tool)) return oddToolRow(tool);
  const { fn, name } = toolParts(tool);
  const description = firstLine(str(fn.description) ?? "", 120);
  return [name, str(tool.type) ?? "", description, toolParams(tool, fn)];
}

function toolSchema(tool: JsonObject): [string, unknown][] {
  const { fn, name } = toolParts(tool);
  return [[name, fn.parameters ?? tool.format]];
}

function toolsBlocks(tools: unknown): Block[] {
  return toolsSection(tools, (t) => [toolRow(t)], toolSchema);
}

/**
 * The tools an `additional_tools` input item declares (Codex 0.169 sends its tools this way,
 * not in `tools`), namespaces (`{type: "namespace", tools: [...]}`) flattened to their tools.
 */
function declaredTools(item: JsonObject): unknown[] {
  const out: unknown[] = [];
  for (const tool of arr(item.tools)) {
    if (isRecord(tool) && tool.type === "namespace" && Array.isArray(tool.tools)) {
      out.push(...tool.tools);
    } else out.push(tool);
  }
  return out;
}

/** The tools of every `additional_tools` input item, in order. */
function additionalTools(input: unknown): unknown[] {
  const out: unknown[] = [];
  for (const item of arr(input)) {
    if (isRecord(item) && item.type === "additional_tools") out.push(...declaredTools(item));
  }
  return out;
}

/**
 * The request's tools: `tools`, and those declared in `additional_tools` input items, in one
 * section like any tools section (its note says how many came from the input).
 */
function requestTools(body: JsonObject): { tools: unknown; blocks: (tools: unknown) => Block[] } {
  const extra = additionalTools(body.input);
  if (extra.length === 0 || (body.tools !== undefined && !Array.isArray(body.tools))) {
    return { tools: body.tools, blocks: toolsBlocks };
  }
  const tools = [...arr(body.tools), ...extra];
  const note = paragraph(`${extra.length} of them declared in an additional_tools input item.`);
  return {
    tools,
    blocks: (t) => {
      const [head, ...rest] = toolsBlocks(t);
      return [head, note, ...rest];
    },
  };
}

/** Keys rendered by their own section (or fully as a field): not repeated in "Other settings". */
const SECTION_KEYS = ["instructions", "input", "tools"];

/**
 * Full text of an item whose table cell is only an excerpt: user/system messages and tool
 * outputs. Assistant messages are skipped: they repeat an answer the report already showed.
 */
function itemFullText(item: unknown): string | undefined {
  if (!isRecord(item) || item.role === "assistant") return undefined;
  const type = str(item.type) ?? ("role" in item ? "message" : "");
  let text: string | undefined;
  if (type === "message") text = contentText(item.content);
  else if (type === "function_call_output" || type === "custom_tool_call_output") {
    text = outputText(item.output);
  }
  return text !== undefined && text.length > CELL ? capText(text).text : undefined;
}

/** The input as conversation items, or raw blocks when it is neither a string nor an array. */
function inputItems(input: unknown): RequestParts["items"] | Block[] {
  const header = ["#", "Role", "Type", "Content"];
  const title = "Input items";
  if (typeof input === "string") {
    return {
      title,
      header,
      keys: [input],
      row: () => ["1", "user", "message", excerpt(input, CELL)],
      full: () => (input.length > CELL ? capText(input).text : undefined),
    };
  }
  if (!Array.isArray(input)) {
    return rawSection("Input", "input is neither a string nor an array of items:", input);
  }
  return {
    title,
    header,
    keys: input,
    row: (i) => inputRow(input[i], i),
    full: (i) => itemFullText(input[i]),
  };
}

function requestParts(body: unknown, _entry: Entry): RequestParts | undefined {
  if (!isRecord(body)) return undefined;
  const { parts, cut } = settingsParts(body, FIELD_SPECS);
  const cacheKey = str(body.prompt_cache_key);
  if (cacheKey) parts.conversationKey = cacheKey;
  const previous = str(body.previous_response_id);
  if (previous) parts.continues = previous;
  const instructions = body.instructions;
  if (instructions !== undefined) {
    parts.system = {
      title: "System prompt (instructions)",
      text: typeof instructions === "string" ? instructions : JSON.stringify(instructions),
      blocks: () => instructionsBlocks(instructions),
    };
  }
  if (body.input !== undefined) {
    const items = inputItems(body.input);
    if (Array.isArray(items)) parts.extra.push(...items);
    else parts.items = items;
  }
  const { tools, blocks } = requestTools(body);
  const toolPart = toolsPart(tools, toolName, blocks);
  if (toolPart.tools) parts.tools = toolPart.tools;
  parts.extra.push(...toolPart.extra);
  parts.extra.push(...otherSettingsFor(body, SECTION_KEYS, FIELD_SPECS, cut));
  return parts;
}

const toolName = (tool: unknown) => (isRecord(tool) ? toolParts(tool).name : "?");

function renderRequest(body: unknown, entry: Entry): RenderedBody {
  return renderFromParts(requestParts(body, entry), body);
}

// ---------------------------------------------------------------------------------------------
// Response: shared pieces

/** An output item, and whether it was rebuilt from deltas because it never completed. */
interface OutputEntry {
  item: JsonObject;
  partial: boolean;
}

/** Where a Responses `usage` object keeps its counts. */
const USAGE_KEYS: UsageKeys = {
  input: "input_tokens",
  output: "output_tokens",
  inputDetails: "input_tokens_details",
  outputDetails: "output_tokens_details",
  cacheWrite: "cache_write_tokens",
};

/** "completed", "incomplete (max_output_tokens)", "failed (code: message)", ... */
function statusText(resp: JsonObject): string | undefined {
  const status = str(resp.status);
  if (status === "incomplete") {
    const reason = isRecord(resp.incomplete_details) ? str(resp.incomplete_details.reason) : "";
    return reason ? `incomplete (${reason})` : "incomplete";
  }
  if (status === "failed" && resp.error !== undefined && resp.error !== null) {
    const e = errorInfo("", resp.error);
    return `failed (${[e.code ?? e.type, e.message].filter(Boolean).join(": ")})`;
  }
  return status;
}

// ---------------------------------------------------------------------------------------------
// Response: output items

/**
 * The text of a run of message items: output_text parts (refusals marked) joined by blank
 * lines, then their annotations as citations (each indexed into its own part's text).
 */
function messageRunBlocks(entries: OutputEntry[]): Block[] {
  const texts: string[] = [];
  const citations: unknown[] = [];
  const citedIn: string[] = [];
  let partial = false;
  for (const { item, partial: p } of entries) {
    const content = item.content;
    const parts = typeof content === "string" ? [content] : arr(content);
    for (const part of parts) {
      let text: string;
      if (isRecord(part) && part.type === "output_text") {
        text = str(part.text) ?? "";
        for (const a of arr(part.annotations)) {
          citations.push(a);
          citedIn.push(text);
        }
      } else if (isRecord(part) && part.type === "refusal") {
        text = `[refusal] ${str(part.refusal) ?? ""}`;
      } else text = partText(part);
      if (text === "") continue;
      texts.push(text);
      partial ||= p;
    }
  }
  const blocks: Block[] = [];
  if (texts.length > 0) blocks.push(heading("Output text"), code(texts.join("\n\n"), "text"));
  if (partial) blocks.push(paragraph(PARTIAL_NOTE));
  blocks.push(...citationBlocks(citations, (i) => citedIn[i]));
  return blocks;
}

function reasoningBlocks(entries: OutputEntry[]): Block[] {
  const summaries: Block[] = [];
  const raw: Block[] = [];
  const notes: string[] = [];
  for (const { item, partial } of entries) {
    if (item.type !== "reasoning") continue;
    const summary = arr(item.summary).map(partText).filter((t) => t !== "");
    if (summary.length > 0) summaries.push(code(summary.join("\n\n"), "text"));
    const text = arr(item.content).map(partText).filter((t) => t !== "");
    if (text.length > 0) raw.push(code(text.join("\n\n"), "text"));
    const encrypted = str(item.encrypted_content);
    if (encrypted !== undefined) notes.push(`Encrypted reasoning: ${opaque(encrypted)}.`);
    if (partial) notes.push("Cut off: reasoning assembled from delta events (never completed).");
  }
  const blocks: Block[] = [];
  if (summaries.length > 0) blocks.push(heading("Reasoning summary"), ...summaries);
  if (raw.length > 0) blocks.push(heading("Reasoning text"), ...raw);
  if (notes.length > 0) {
    if (blocks.length === 0) blocks.push(heading("Reasoning summary"));
    blocks.push(...notes.map(paragraph));
  }
  return blocks;
}

/** Fields and argument block of one tool call (function, custom, local shell, hosted, ...). */
function toolCallBlocks({ item, partial }: OutputEntry): Block[] {
  const type = str(item.type) ?? "";
  const name = str(item.name) ?? type.replace(/_call$/, "");
  const rows: [string, string][] = [["Name", name]];
  const callId = str(item.call_id);
  if (callId !== undefined) rows.push(["Call ID", callId]);
  rows.push(["Type", type]);
  if (partial) rows.push(["Status", "incomplete (assembled from deltas)"]);
  else if (item.status !== undefined) rows.push(["Status", inlineValue(item.status)]);
  const payload = type === "function_call"
    ? item.arguments
    : type === "custom_tool_call"
    ? item.input
    : item.action ??
      remainingKeys(item, new Set(["type", "id", "call_id", "name", "status"]));
  return callBlocks(rows, payload);
}

const isToolCall = (type: string) => type.endsWith("_call");

type Kind = "message" | "reasoning" | "call" | "other";

function kindOf(item: JsonObject): Kind {
  const type = str(item.type) ?? "";
  if (type === "message") return "message";
  if (type === "reasoning") return "reasoning";
  return isToolCall(type) ? "call" : "other";
}

/**
 * The output in the order the model produced it: each run of items of one kind (message
 * text, reasoning, tool calls, other items) under its heading.
 */
function outputBlocks(entries: OutputEntry[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < entries.length;) {
    const kind = kindOf(entries[i].item);
    let j = i + 1;
    while (j < entries.length && kindOf(entries[j].item) === kind) j++;
    const run = entries.slice(i, j);
    i = j;
    if (kind === "message") blocks.push(...messageRunBlocks(run));
    else if (kind === "reasoning") blocks.push(...reasoningBlocks(run));
    else if (kind === "call") blocks.push(heading("Tool calls"), ...run.flatMap(toolCallBlocks));
    else {
      blocks.push(heading("Other output items"));
      for (const { item } of run) {
        blocks.push(
          fields([["Type", str(item.type) ?? "(no type)"]]),
          code(prettyJson(item), "json"),
        );
      }
    }
  }
  if (entries.length === 0) blocks.push(paragraph("(no output items)"));
  return blocks;
}

/**
 * Renders a final (or last known) response object: summary fields with status and usage, the
 * errors, then the output. Used for JSON bodies and for the stream's rebuilt response.
 */
function renderFinalResponse(
  resp: JsonObject | undefined,
  entries: OutputEntry[],
  streamErrors: ErrorInfo[],
): RenderedBody & { problems: string[] } {
  const model = str(resp?.model);
  const id = str(resp?.id);
  const status = resp ? statusText(resp) : streamErrors.length > 0 ? "error" : undefined;
  const failed = resp?.error !== undefined && resp.error !== null;
  const out = finalBody({
    rows: [...(resp ? [["Response", id], ["Model", model]] as const : []), ["Status", status]],
    usage: tokenUsage(resp?.usage, USAGE_KEYS),
    errors: failed ? [...streamErrors, errorInfo("response failed", resp.error)] : streamErrors,
    problems: resp?.status === "incomplete" ? [`response ${status}`] : [],
    content: outputBlocks(entries),
    model,
    rawUsage: { raw: resp?.usage, shown: usagePaths(USAGE_KEYS) },
  });
  if (id) out.responseId = id;
  return { ...out, final: { ...resp, output: entries.map((e) => e.item) } };
}

/** Output items of a response object; non-object entries wrapped so they are still shown. */
function entriesOf(output: unknown): OutputEntry[] {
  return arr(output).map((item) => ({
    item: isRecord(item) ? item : { type: "(not an object)", value: item },
    partial: false,
  }));
}

// ---------------------------------------------------------------------------------------------
// Response: SSE stream

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed", "error"]);

/** Pieces of one output item gathered from delta events. */
/** The texts of an output item streamed piece by piece, by content (or summary) index. */
type TextKind = "texts" | "refusals" | "summaries" | "reasoning";

interface Pending extends Record<TextKind, Map<number, string>> {
  added?: JsonObject;
  /** `output_text.annotation.added` annotations, by content index. */
  annotations: Map<number, unknown[]>;
  name?: string;
  args?: string;
  input?: string;
}

/** Everything gathered from a stream. */
interface StreamState {
  final?: JsonObject;
  snapshot?: JsonObject;
  done: Map<number, JsonObject>;
  pending: Map<number, Pending>;
  idToIndex: Map<string, number>;
  errors: ErrorInfo[];
}

/** Event types this renderer reads or knowingly ignores; others get a raw sample. */
const KNOWN_EVENTS = new Set([
  ...TERMINAL,
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.output_item.added",
  "response.output_item.done",
  "response.content_part.added",
  "response.content_part.done",
  "response.output_text.delta",
  "response.output_text.done",
  "response.output_text.annotation.added",
  "response.refusal.delta",
  "response.refusal.done",
  "response.reasoning_summary_part.added",
  "response.reasoning_summary_part.done",
  "response.reasoning_summary_text.delta",
  "response.reasoning_summary_text.done",
  "response.reasoning_text.delta",
  "response.reasoning_text.done",
  "response.function_call_arguments.delta",
  "response.function_call_arguments.done",
  "response.custom_tool_call_input.delta",
  "response.custom_tool_call_input.done",
]);

/** The output index an event refers to (by `output_index`, else by `item_id`). */
function indexOf(state: StreamState, d: JsonObject): number {
  const itemId = str(d.item_id) ?? (isRecord(d.item) ? str(d.item.id) : undefined);
  const index = num(d.output_index);
  if (index !== undefined) {
    if (itemId !== undefined) state.idToIndex.set(itemId, index);
    return index;
  }
  if (itemId !== undefined) {
    const known = state.idToIndex.get(itemId);
    if (known !== undefined) return known;
    const synthetic = 1_000_000 + state.idToIndex.size;
    state.idToIndex.set(itemId, synthetic);
    return synthetic;
  }
  return 2_000_000;
}

function pendingOf(state: StreamState, index: number): Pending {
  let p = state.pending.get(index);
  if (!p) {
    p = {
      texts: new Map(),
      refusals: new Map(),
      summaries: new Map(),
      reasoning: new Map(),
      annotations: new Map(),
    };
    state.pending.set(index, p);
  }
  return p;
}

/**
 * Texts streamed as `PREFIX.delta` pieces and settled by `PREFIX.done`, by PREFIX: the pending
 * map they go to, the event field that indexes them and the done event's field with the text.
 */
const TEXT_EVENTS = new Map<string, readonly [TextKind, string, string]>([
  ["response.output_text", ["texts", "content_index", "text"]],
  ["response.refusal", ["refusals", "content_index", "refusal"]],
  ["response.reasoning_summary_text", ["summaries", "summary_index", "text"]],
  ["response.reasoning_text", ["reasoning", "content_index", "text"]],
]);

/** A tool call's input streamed the same way, by PREFIX: its pending field, the done field. */
const CALL_EVENTS = new Map<string, readonly ["args" | "input", string]>([
  ["response.function_call_arguments", ["args", "arguments"]],
  ["response.custom_tool_call_input", ["input", "input"]],
]);

function append(map: Map<number, string>, key: unknown, piece: unknown): void {
  if (typeof piece !== "string") return;
  const k = num(key) ?? 0;
  map.set(k, (map.get(k) ?? "") + piece);
}

function replace(map: Map<number, string>, key: unknown, full: unknown): void {
  if (typeof full === "string") map.set(num(key) ?? 0, full);
}

/** Applies one parsed event to the stream state. */
function applyEvent(state: StreamState, type: string, d: JsonObject): void {
  const response = isRecord(d.response) ? d.response : undefined;
  if (type === "error") {
    const nested = d.error !== undefined && d.error !== null;
    state.errors.push(errorInfo("error event", nested ? d.error : d, !nested));
    return;
  }
  if (TERMINAL.has(type)) {
    if (response) state.final = state.snapshot = response;
    return;
  }
  if (
    type === "response.created" || type === "response.in_progress" || type === "response.queued"
  ) {
    if (response) state.snapshot = response;
    return;
  }
  if (!type.startsWith("response.")) return;
  const hasTarget = "output_index" in d || "item_id" in d || isRecord(d.item);
  if (!hasTarget) return;
  const index = indexOf(state, d);
  const p = pendingOf(state, index);
  const dot = type.lastIndexOf(".");
  const step = type.slice(dot + 1);
  const text = TEXT_EVENTS.get(type.slice(0, dot));
  if (text) {
    const [into, key, field] = text;
    if (step === "delta") append(p[into], d[key], d.delta);
    else if (step === "done") replace(p[into], d[key], d[field]);
    return;
  }
  const call = CALL_EVENTS.get(type.slice(0, dot));
  if (call) {
    const [into, field] = call;
    if (step === "delta" && typeof d.delta === "string") p[into] = (p[into] ?? "") + d.delta;
    if (step === "done" && typeof d[field] === "string") p[into] = d[field];
    if (step === "done" && typeof d.name === "string") p.name = d.name;
    return;
  }
  const part = isRecord(d.part) ? d.part : {};
  switch (type) {
    case "response.output_item.added":
      if (isRecord(d.item)) p.added = d.item;
      break;
    case "response.output_item.done":
      if (isRecord(d.item)) state.done.set(index, d.item);
      break;
    case "response.output_text.annotation.added": {
      const k = num(d.content_index) ?? 0;
      p.annotations.set(k, [...(p.annotations.get(k) ?? []), d.annotation]);
      break;
    }
    case "response.content_part.done":
      if (part.type === "output_text") replace(p.texts, d.content_index, part.text);
      if (part.type === "refusal") replace(p.refusals, d.content_index, part.refusal);
      break;
    case "response.reasoning_summary_part.done":
      replace(p.summaries, d.summary_index, part.text);
      break;
  }
}

const byKey = (map: Map<number, string>) => [...map].sort((a, b) => a[0] - b[0]).map(([, v]) => v);

/** Rebuilds an item that never got its `output_item.done`, from `added` plus the deltas. */
function pendingItem(p: Pending): JsonObject | undefined {
  const hasText = p.texts.size > 0 || p.refusals.size > 0;
  const hasReasoning = p.summaries.size > 0 || p.reasoning.size > 0;
  const inferred = hasText
    ? "message"
    : hasReasoning
    ? "reasoning"
    : p.args !== undefined
    ? "function_call"
    : p.input !== undefined
    ? "custom_tool_call"
    : undefined;
  if (!p.added && !inferred) return undefined;
  const item: JsonObject = { ...p.added };
  const type = str(item.type) ?? inferred ?? "(unknown)";
  item.type = type;
  if (type === "message" && hasText) {
    if (!item.role) item.role = "assistant";
    item.content = [
      ...[...p.texts].sort((a, b) => a[0] - b[0]).map(([k, text]) => ({
        type: "output_text",
        text,
        annotations: p.annotations.get(k) ?? [],
      })),
      ...byKey(p.refusals).map((refusal) => ({ type: "refusal", refusal })),
    ];
  }
  if (type === "reasoning") {
    if (p.summaries.size > 0) {
      item.summary = byKey(p.summaries).map((text) => ({ type: "summary_text", text }));
    }
    if (p.reasoning.size > 0) {
      item.content = byKey(p.reasoning).map((text) => ({ type: "reasoning_text", text }));
    }
  }
  if (p.name !== undefined && item.name === undefined) item.name = p.name;
  if (type === "function_call" && p.args !== undefined) item.arguments = p.args;
  if (type === "custom_tool_call" && p.input !== undefined) item.input = p.input;
  return item;
}

/** The output: the final response's `output`, else each `output_item.done`, else deltas. */
function streamEntries(state: StreamState): OutputEntry[] {
  const finalOutput = arr(state.final?.output);
  if (finalOutput.length > 0 && finalOutput.length >= state.done.size) {
    return entriesOf(finalOutput);
  }
  const indexes = [...new Set([...state.done.keys(), ...state.pending.keys()])].sort((a, b) =>
    a - b
  );
  const entries: OutputEntry[] = [];
  for (const index of indexes) {
    const done = state.done.get(index);
    if (done) {
      entries.push({ item: done, partial: false });
      continue;
    }
    const pending = state.pending.get(index);
    const item = pending && pendingItem(pending);
    if (item) entries.push({ item, partial: true });
  }
  return entries;
}

/**
 * Progress events of hosted tools (web_search_call.searching, file_search_call.completed,
 * code_interpreter_call_code.delta, mcp_call_arguments.done, mcp_list_tools.in_progress, ...):
 * the item they describe arrives whole in output_item.done.
 */
const HOSTED_TOOL_EVENT = /^response\.(?:[a-z_]+_call(?:_[a-z_]+)?|mcp_list_tools)\.[a-z_]+$/;

const unknownLabel = (e: ParsedSse) =>
  KNOWN_EVENTS.has(e.type) || HOSTED_TOOL_EVENT.test(e.type) ? undefined : e.type;

function renderStream(events: SseEvent[], view?: ResponseView): RenderedBody {
  const parsed = events.map(parseSseEvent);
  const state: StreamState = {
    done: new Map(),
    pending: new Map(),
    idToIndex: new Map(),
    errors: [],
  };
  for (const e of parsed) if (e.data) applyEvent(state, e.type, e.data);

  const truncated = streamTruncation(parsed, TERMINAL, "response.completed");
  const resp = state.final ?? state.snapshot;
  const final = renderFinalResponse(resp, streamEntries(state), state.errors);
  return finishedStream(final, parsed, unknownLabel, {
    truncated,
    partial: "Items that never completed were rebuilt from delta events.",
    title: eventsTitle(view),
  });
}

// ---------------------------------------------------------------------------------------------
// Response: JSON body

/** The error of an error body: `{error:{...}}`, `{error:"..."}`, or `{detail}` on a 4xx/5xx. */
function bodyError(body: JsonObject, status: number): ErrorInfo | undefined {
  if (body.object === "response") return undefined;
  if (body.error !== undefined && body.error !== null) return errorInfo("API error", body.error);
  if (status >= 400) {
    const message = str(body.detail) ?? str(body.message);
    if (message !== undefined) return { source: "API error", message, code: str(body.code) };
  }
  return undefined;
}

function renderJsonBody(body: JsonObject, status: number): RenderedBody {
  const err = bodyError(body, status);
  if (err) return apiErrorBody(body, err, status);
  if (body.object === "response" || Array.isArray(body.output)) {
    const out = renderFinalResponse(body, entriesOf(body.output), []);
    return body.object === "response" ? usageChecked(out) : out;
  }
  return { blocks: [code(prettyJson(body), "json")] };
}

function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  return renderByShape(view, renderStream, renderJsonBody);
}

/**
 * `POST …/responses` (and `/responses/compact`), `GET …/responses` upgraded to a WebSocket, or
 * a body with `input` or string `instructions` on another path.
 */
function detect(req: DetectInput): number {
  if (req.method === "GET" && req.websocket && /\/responses$/.test(req.path)) {
    return Confidence.endpoint;
  }
  if (req.method !== "POST") return Confidence.none;
  if (/\/responses(?:\/compact)?$/.test(req.path)) return Confidence.endpoint;
  const body = req.body;
  if (!isRecord(body)) return Confidence.none;
  // Ranked after Gemini's `contents`, before the `messages` of Anthropic and Chat Completions.
  if ("input" in body || typeof body.instructions === "string") return Confidence.shape + 2;
  return Confidence.none;
}

/** The OpenAI Responses API renderer (Codex and other Responses clients). */
export const openaiResponses: Renderer = withWebSocket({
  id: "openai_responses",
  name: "OpenAI Responses API",
  detect,
  renderRequest,
  renderResponse,
  requestParts,
  // Also the wrapper's: a WebSocket turn's facts are those of its `response.create` frame.
  requestFacts: responsesFacts,
});
