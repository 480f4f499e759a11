/**
 * Tier-2 renderer for the OpenAI Chat Completions API (`POST /v1/chat/completions`, and the
 * many servers that copy it): the request's settings, system prompt, messages and tools; the
 * completion rebuilt from its `data:` chunks (or a plain `chat.completion` JSON body), with
 * usage and the problems a reader should see first (errors, cut-off streams, missing usage).
 *
 * Unknown fields and chunk kinds are kept and shown raw; nothing here throws on odd input.
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
  Usage,
} from "../lib/types.ts";
import { base64Bytes } from "../lib/base64.ts";
import { arr, isRecord, type JsonObject, num, remainingKeys, str } from "../lib/json.ts";
import {
  callBlocks,
  cappedTextBlocks,
  code,
  fields,
  heading,
  paragraph,
  rawSection,
} from "./blocks.ts";
import { citationBlocks } from "./citations.ts";
import { apiErrorBody, type ErrorInfo, errorInfo } from "./errors.ts";
import { renderFromParts, unitItems, withoutCacheControl } from "./request_parts.ts";
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
  lastEventText,
  type ParsedSse,
  parseSseEvent,
} from "./sse_events.ts";
import { capText, charCount, excerpt, firstLine } from "./text.ts";
import { oddToolRow, otherKeysCell, schemaParams, toolsPart, toolsSection } from "./tools.ts";
import {
  compactJson,
  imageUrlText,
  inlineValue,
  joinedText,
  objectSummary,
  prettyJson,
} from "./values.ts";

/** Length of a table cell excerpt. */
const CELL = 200;
/** Length of the excerpt of a tool result in its cell. */
const TOOL_CELL = 160;
/** Cap for one system message shown in full. */
const MAX_SYSTEM = 200_000;

// ---------------------------------------------------------------------------------------------
// Request

/** `stream_options` as its `include_usage` flag, else a summary of the object. */
function includeUsage(value: unknown): string {
  if (isRecord(value) && "include_usage" in value) return inlineValue(value.include_usage);
  return objectSummary(value);
}

/** "auto", "required", or "function: NAME" for `{type:"function", function:{name}}`. */
function toolChoiceText(value: unknown): string {
  if (isRecord(value) && isRecord(value.function) && typeof value.function.name === "string") {
    return `${str(value.type) ?? "function"}: ${value.function.name}`;
  }
  return objectSummary(value);
}

/** Top-level request keys shown as label/value rows, in display order. */
const FIELD_SPECS: FieldSpec[] = [
  ["model", "Model", inlineValue],
  ["stream", "Stream", inlineValue],
  ["stream_options", "Include usage", includeUsage],
  ["max_tokens", "Max tokens", inlineValue],
  ["max_completion_tokens", "Max completion tokens", inlineValue],
  ["reasoning_effort", "Reasoning effort", inlineValue],
  ["temperature", "Temperature", inlineValue],
  ["tool_choice", "Tool choice", toolChoiceText],
  ["parallel_tool_calls", "Parallel tool calls", inlineValue],
];

/** `stream_options` needs no repeat in "Other settings" when it holds only include_usage. */
function streamOptionsShown(value: unknown): boolean {
  return isRecord(value) && Object.keys(value).length === 1 && "include_usage" in value;
}

/** `[image: …]` reference of an image_url part; base64 data URLs reduced to type + length. */
function imageRef(part: JsonObject): string {
  return imageUrlText(part.image_url) || "?";
}

/** The readable text of one content part (text, image_url, input_audio, file, ...). */
function partText(part: unknown): string {
  if (typeof part === "string") return part;
  if (!isRecord(part)) return compactJson(part, 80);
  switch (part.type) {
    case "text":
      return str(part.text) ?? compactJson(part, 80);
    case "refusal":
      return `[refusal: ${str(part.refusal) ?? ""}]`;
    case "image_url":
      return `[image: ${imageRef(part)}]`;
    case "input_audio": {
      const audio = isRecord(part.input_audio) ? part.input_audio : {};
      const data = str(audio.data);
      const format = str(audio.format) ?? "?";
      return data === undefined
        ? `[audio: ${format}]`
        : `[audio: ${format}, ${base64Bytes(data)} bytes base64]`;
    }
    case "file": {
      const file = isRecord(part.file) ? part.file : {};
      return `[file: ${str(file.filename) ?? str(file.file_id) ?? "inline"}]`;
    }
    default:
      return compactJson(part, 80);
  }
}

/** Text of a message's `content`: a string, an array of parts, or null. */
function contentText(content: unknown, separator = " "): string {
  return joinedText(content, partText, separator);
}

/** `name(args) [id]` for one `tool_calls` entry of an assistant message. */
function toolCallText(call: unknown): string {
  if (!isRecord(call)) return compactJson(call, 80);
  const fn = isRecord(call.function) ? call.function : isRecord(call.custom) ? call.custom : {};
  const raw = fn.arguments ?? fn.input;
  const args = typeof raw === "string" ? raw : raw === undefined ? "" : compactJson(raw, 80);
  const id = str(call.id);
  return `${str(fn.name) ?? "?"}(${excerpt(args, 160)})${id ? ` [${id}]` : ""}`;
}

/** Message keys the Content cell already covers. */
const MESSAGE_KEYS = new Set([
  "role",
  "content",
  "tool_calls",
  "tool_call_id",
  "name",
  "refusal",
  "function_call",
]);

function messageExcerpt(message: JsonObject): string {
  const role = message.role;
  const text = contentText(message.content);
  const pieces: string[] = [];
  if (role === "tool" || role === "function") {
    const ref = str(message.tool_call_id) ?? str(message.name) ?? "?";
    pieces.push(`${ref} → ${excerpt(text, TOOL_CELL)}`);
  } else {
    if (text !== "") pieces.push(excerpt(text, CELL));
    if (typeof message.refusal === "string") pieces.push(`[refusal: ${message.refusal}]`);
    for (const call of arr(message.tool_calls)) pieces.push(toolCallText(call));
    if (message.tool_calls !== undefined && !Array.isArray(message.tool_calls)) {
      pieces.push(`tool_calls: ${compactJson(message.tool_calls, 80)}`);
    }
    if (isRecord(message.function_call)) {
      pieces.push(toolCallText({ function: message.function_call }));
    }
  }
  const rest = remainingKeys(message, MESSAGE_KEYS);
  const shownRest = rest && Object.fromEntries(
    Object.entries(rest).filter(([, v]) => v !== null && v !== undefined),
  );
  if (shownRest && Object.keys(shownRest).length > 0) pieces.push(compactJson(shownRest, 60));
  return excerpt(pieces.join(" "), CELL);
}

function messageRow(message: unknown, index: number): string[] {
  const n = String(index + 1);
  if (!isRecord(message)) return [n, "", excerpt(compactJson(message), CELL)];
  const role = str(message.role) ?? inlineValue(message.role ?? "");
  return [n, role, messageExcerpt(message)];
}

const isSystemRole = (m: unknown) => isRecord(m) && (m.role === "system" || m.role === "developer");

/** How many messages at the start are system/developer messages (the system prompt). */
function leadingSystem(messages: unknown[]): number {
  let n = 0;
  while (n < messages.length && isSystemRole(messages[n])) n++;
  return n;
}

/** The leading system/developer messages, else the first one anywhere, with their numbers. */
function systemMessages(messages: unknown[]): [number, JsonObject][] {
  const lead = leadingSystem(messages);
  const out: [number, JsonObject][] = [];
  for (let i = 0; i < lead; i++) out.push([i + 1, messages[i] as JsonObject]);
  if (out.length > 0) return out;
  const at = messages.findIndex(isSystemRole);
  return at < 0 ? [] : [[at + 1, messages[at] as JsonObject]];
}

const hasText = (content: unknown) => typeof content === "string" || Array.isArray(content);

function systemBlocks(found: [number, JsonObject][]): Block[] {
  const blocks = [heading("System prompt")];
  for (const [n, message] of found) {
    const content = message.content;
    if (hasText(content)) {
      const text = contentText(content, "\n\n");
      blocks.push(
        paragraph(`Message ${n} (${message.role}): ${charCount(text)} characters`),
        ...cappedTextBlocks(text, MAX_SYSTEM),
      );
    } else {
      blocks.push(
        paragraph(`Message ${n} (${message.role}): content is not a string or parts`),
        code(prettyJson(content ?? null), "json"),
      );
    }
  }
  return blocks;
}

/** The system prompt's text, compared across requests: the system messages' texts. */
function systemText(found: [number, JsonObject][]): string {
  return found.map(([, { content }]) =>
    hasText(content) ? contentText(content, "\n\n") : JSON.stringify(content ?? null)
  ).join("\n\n");
}

/**
 * Identity of a message across requests. Cache breakpoints are left out and a lone text part
 * counts as the string it holds: clients that cache move both to the newest messages.
 */
function messageKey(message: unknown): unknown {
  if (!isRecord(message)) return message;
  let m = withoutCacheControl(message);
  const content = m.content;
  if (Array.isArray(content)) {
    let parts = content;
    if (parts.some((p) => isRecord(p) && "cache_control" in p)) {
      parts = parts.map((p) => (isRecord(p) ? withoutCacheControl(p) : p));
    }
    const [only] = parts;
    const lone = parts.length === 1 && isRecord(only) && only.type === "text" &&
      typeof only.text === "string" && Object.keys(only).length === 2;
    if (lone || parts !== content) m = { ...m, content: lone ? only.text : parts };
  }
  return m;
}

/**
 * Full text of a message whose row shows only an excerpt: long user, system and tool
 * messages. Assistant messages are skipped: they repeat an answer the report already showed.
 */
function messageFullText(message: unknown): string | undefined {
  if (!isRecord(message) || message.role === "assistant") return undefined;
  const tool = message.role === "tool" || message.role === "function";
  const text = contentText(message.content, "\n\n");
  return text.length > (tool ? TOOL_CELL : CELL) ? capText(text).text : undefined;
}

/** A tool definition's inner object: `function`, `custom`, or the tool itself. */
function toolFn(tool: JsonObject): JsonObject {
  return isRecord(tool.function) ? tool.function : isRecord(tool.custom) ? tool.custom : tool;
}

function toolParams(tool: JsonObject, fn: JsonObject): string {
  if (fn.parameters !== undefined) return schemaParams(fn.parameters);
  if (isRecord(fn.format)) return `format: ${inlineValue(fn.format.type)}`;
  return otherKeysCell(tool, TOOL_KEYS);
}

const TOOL_KEYS: ReadonlySet<string> = new Set(["type", "function", "custom"]);

const toolName = (tool: unknown) =>
  isRecord(tool) ? str(toolFn(tool).name) ?? str(tool.type) ?? "?" : "?";

function toolRow(tool: unknown): string[] {
  if (!isRecord(tool)) return oddToolRow(tool);
  const fn = toolFn(tool);
  return [
    toolName(tool),
    str(tool.type) ?? "",
    firstLine(str(fn.description) ?? "", 120),
    toolParams(tool, fn),
  ];
}

function toolSchema(tool: JsonObject): [string, unknown][] {
  const fn = toolFn(tool);
  return [[toolName(tool), fn.parameters ?? fn.format]];
}

function toolsBlocks(tools: unknown): Block[] {
  return toolsSection(tools, (t) => [toolRow(t)], toolSchema);
}

/** Keys rendered by their own section: not repeated in "Other settings". */
const SECTION_KEYS = ["messages", "tools"];

/** Adds the messages: the system prompt, and the messages after it as conversation items. */
function addMessages(parts: RequestParts, messages: unknown): void {
  if (messages === undefined) return;
  if (!Array.isArray(messages)) {
    parts.extra.push(...rawSection("Messages", "messages is not an array:", messages));
    return;
  }
  const found = systemMessages(messages);
  if (found.length > 0) {
    parts.system = {
      title: "System prompt",
      text: systemText(found),
      blocks: () => systemBlocks(found),
    };
  }
  parts.items = unitItems({
    title: "Messages",
    header: ["#", "Role", "Content"],
    messages,
    first: leadingSystem(messages),
    keys: (m) => [messageKey(m)],
    row: messageRow,
    full: messageFullText,
  });
}

/**
 * The request split for the per-turn view: the leading system/developer messages are the
 * system prompt, the messages after them the items (numbered as in the request). The body
 * carries no conversation id.
 */
function requestParts(body: unknown, _entry: Entry): RequestParts | undefined {
  if (!isRecord(body)) return undefined;
  const { parts, cut } = settingsParts(body, FIELD_SPECS);
  addMessages(parts, body.messages);
  const toolPart = toolsPart(body.tools, toolName, toolsBlocks);
  if (toolPart.tools) parts.tools = toolPart.tools;
  parts.extra.push(...toolPart.extra);
  const shownWhole = (k: string) =>
    k !== "stream_options" || streamOptionsShown(body.stream_options);
  parts.extra.push(...otherSettingsFor(body, SECTION_KEYS, FIELD_SPECS, cut, shownWhole));
  return parts;
}

function renderRequest(body: unknown, entry: Entry): RenderedBody {
  return renderFromParts(requestParts(body, entry), body);
}

// ---------------------------------------------------------------------------------------------
// Response: the final completion (JSON body or rebuilt from the stream)

/** A choice of the completion, and whether it never got its finish_reason in a cut stream. */
interface ChoiceEntry {
  choice: JsonObject;
  partial: boolean;
}

/**
 * Normalised usage of a Chat Completions `usage` object (prompt_tokens include cached ones,
 * completion_tokens include reasoning ones). Undefined when there are no counts.
 */
export function chatUsage(raw: unknown): Usage | undefined {
  return tokenUsage(raw, CHAT_USAGE_KEYS);
}

const CHAT_USAGE_KEYS: UsageKeys = {
  input: "prompt_tokens",
  output: "completion_tokens",
  inputDetails: "prompt_tokens_details",
  outputDetails: "completion_tokens_details",
};

/** Finish reasons that mean the answer was cut or withheld. */
const BAD_FINISH: Record<string, string> = {
  length: "finish reason: length (output cut off)",
  content_filter: "finish reason: content_filter",
};

const messageOf = (choice: JsonObject): JsonObject =>
  isRecord(choice.message) ? choice.message : isRecord(choice.delta) ? choice.delta : {};

function finishText(choices: ChoiceEntry[]): string | undefined {
  const reasons = choices.map(({ choice }) =>
    choice.finish_reason === undefined || choice.finish_reason === null
      ? undefined
      : inlineValue(choice.finish_reason)
  );
  if (reasons.every((r) => r === undefined)) return undefined;
  if (choices.length === 1) return reasons[0];
  return choices.map(({ choice }, i) => `${inlineValue(choice.index ?? i)}: ${reasons[i] ?? "-"}`)
    .join(", ");
}

function toolCallBlocks(call: unknown, partial: boolean, legacy = false): Block[] {
  if (!isRecord(call)) return [fields([["Name", "?"]]), code(prettyJson(call), "json")];
  const fn = isRecord(call.function) ? call.function : isRecord(call.custom) ? call.custom : {};
  const rows: [string, string][] = [["Name", str(fn.name) ?? inlineValue(fn.name ?? "?")]];
  const id = str(call.id);
  if (id !== undefined) rows.push(["Call ID", id]);
  rows.push(["Type", legacy ? "function_call (legacy)" : str(call.type) ?? ""]);
  if (partial) rows.push(["Status", "incomplete (assembled from deltas)"]);
  return callBlocks(rows, fn.arguments ?? fn.input);
}

/** Top-level completion keys shown in the summary or by their own section. */
const COMPLETION_KEYS: ReadonlySet<string> = new Set([
  "id",
  "object",
  "created",
  "model",
  "choices",
  "usage",
  "service_tier",
  "system_fingerprint",
]);

/** Choice keys shown by their own section. */
const CHOICE_KEYS: ReadonlySet<string> = new Set(["index", "message", "delta", "finish_reason"]);

/** The entries of `rest` that hold something (not null, not an empty array). */
function shownValues(rest: JsonObject | undefined): JsonObject | undefined {
  if (!rest) return undefined;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Message keys shown by their own section of a choice. */
const CHOICE_MESSAGE_KEYS = new Set([
  "role",
  "content",
  "refusal",
  "tool_calls",
  "function_call",
  "annotations",
]);

/** Chat's `{type:"url_citation", url_citation:{url, title, start_index, end_index}}`, flat. */
const flatAnnotation = (a: unknown) =>
  isRecord(a) && isRecord(a[str(a.type) ?? ""])
    ? { type: a.type, ...a[str(a.type)!] as JsonObject }
    : a;

function choiceBlocks({ choice, partial }: ChoiceEntry, suffix: string): Block[] {
  const message = messageOf(choice);
  const blocks: Block[] = [];
  const text = contentText(message.content, "\n\n");
  if (text !== "") {
    blocks.push(heading(`Output text${suffix}`), code(text, "text"));
    if (partial) blocks.push(paragraph(PARTIAL_NOTE));
  }
  const annotations = arr(message.annotations);
  if (annotations.length > 0) {
    blocks.push(...citationBlocks(annotations.map(flatAnnotation), () => text));
  }
  if (typeof message.refusal === "string" && message.refusal !== "") {
    blocks.push(heading(`Refusal${suffix}`), code(message.refusal, "text"));
  }
  const rest = remainingKeys(message, CHOICE_MESSAGE_KEYS) ?? {};
  const other: JsonObject = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === null || (Array.isArray(v) && v.length === 0)) continue;
    if (typeof v === "string" && /reasoning|thinking/.test(k)) {
      blocks.push(heading(`Reasoning (${k})${suffix}`), code(v, "text"));
    } else other[k] = v;
  }
  const calls = arr(message.tool_calls);
  const legacy = isRecord(message.function_call) ? [message.function_call] : [];
  if (calls.length > 0 || legacy.length > 0) {
    blocks.push(
      heading(`Tool calls${suffix}`),
      ...calls.flatMap((c) => toolCallBlocks(c, partial)),
      ...legacy.map((f) => toolCallBlocks({ function: f }, partial, true)).flat(),
    );
  }
  if (message.annotations !== undefined && message.annotations !== null) {
    if (!Array.isArray(message.annotations)) other.annotations = message.annotations;
  }
  if (message.tool_calls !== undefined && message.tool_calls !== null && calls.length === 0) {
    if (!Array.isArray(message.tool_calls)) other.tool_calls = message.tool_calls;
  }
  if (Object.keys(other).length > 0) {
    blocks.push(heading(`Other message fields${suffix}`), code(prettyJson(other), "json"));
  }
  const choiceRest = shownValues(remainingKeys(choice, CHOICE_KEYS));
  if (choiceRest) {
    blocks.push(heading(`Other choice fields${suffix}`), code(prettyJson(choiceRest), "json"));
  }
  if (blocks.length === 0) blocks.push(paragraph(`(empty message${suffix})`));
  return blocks;
}

/**
 * Renders a final (or last known) completion: summary fields with finish reason and usage,
 * the errors, then each choice's text, reasoning and tool calls. Used for JSON bodies and for
 * the completion rebuilt from a stream.
 */
function renderCompletion(
  resp: JsonObject | undefined,
  choices: ChoiceEntry[],
  errors: ErrorInfo[],
): RenderedBody & { problems: string[] } {
  const problems: string[] = [];
  const model = str(resp?.model);
  const given = (v: unknown) => (v === undefined || v === null ? undefined : inlineValue(v));
  const rows: [string, string | undefined][] = [
    ["Completion ID", str(resp?.id)],
    ["Model", model],
    ["Finish reason", finishText(choices)],
    ["Service tier", given(resp?.service_tier)],
    ["System fingerprint", given(resp?.system_fingerprint)],
  ];
  for (const { choice } of choices) {
    const bad = BAD_FINISH[str(choice.finish_reason) ?? ""];
    if (bad && !problems.includes(bad)) problems.push(bad);
  }
  const content: Block[] = [];
  choices.forEach((c, i) => {
    const suffix = choices.length > 1 ? ` (choice ${inlineValue(c.choice.index ?? i)})` : "";
    content.push(...choiceBlocks(c, suffix));
  });
  if (choices.length === 0) content.push(paragraph("(no choices)"));
  // Fields the API or a provider adds (moderation, prompt_filter_results, citations, provider,
  // ...) are shown, not dropped.
  const other = resp ? shownValues(remainingKeys(resp, COMPLETION_KEYS)) : undefined;
  if (other) content.push(heading("Other fields"), code(prettyJson(other), "json"));
  const out = finalBody({
    rows,
    usage: chatUsage(resp?.usage),
    errors,
    problems,
    content,
    model,
    rawUsage: { raw: resp?.usage, shown: usagePaths(CHAT_USAGE_KEYS) },
  });
  return { ...out, final: { ...resp, choices: choices.map((c) => c.choice) } };
}

// ---------------------------------------------------------------------------------------------
// Response: SSE stream

/** One tool call being joined from `delta.tool_calls` pieces with the same index. */
interface PendingCall {
  id?: string;
  type?: string;
  name?: string;
  args: string;
}

/** One choice being assembled from chunk deltas. */
interface PendingChoice {
  index: number;
  role?: string;
  content?: string;
  refusal?: string;
  calls: Map<number, PendingCall>;
  /** The last call index seen, for pieces that carry no `index`. */
  lastCall?: number;
  legacy?: PendingCall;
  finish?: unknown;
  /** Delta fields this renderer does not know: strings and arrays joined, others replaced. */
  extra: JsonObject;
  /** Choice fields besides index, delta and finish_reason (logprobs, content filters, ...). */
  choiceExtra: JsonObject;
}

interface StreamState {
  /** id, model, created, ... of the chunks (latest wins). */
  meta: JsonObject;
  choices: Map<number, PendingChoice>;
  usage?: JsonObject;
  errors: ErrorInfo[];
  sawDone: boolean;
}

const DONE = "[DONE]";
const isDone = (e: ParsedSse) => e.raw.trim() === DONE;

/** What one event is: "chunk", "usage chunk", "[DONE]", "error", or its object/type. */
function kindOf(e: ParsedSse): string {
  if (isDone(e)) return DONE;
  const d = e.data;
  if (!d) return "(not JSON)";
  if ((d.error !== undefined && d.error !== null) || e.type === "error") return "error";
  const choices = d.choices;
  if (Array.isArray(choices)) {
    return choices.length === 0 && isRecord(d.usage) ? "usage chunk" : "chunk";
  }
  if (isRecord(d.usage)) return "usage chunk";
  return str(d.object) ?? str(d.type) ?? "(unknown)";
}

const CHUNK_KINDS = new Set(["chunk", "usage chunk", "error", DONE, "(not JSON)"]);

function joinExtra(extra: JsonObject, key: string, value: unknown): void {
  if (value === null || value === undefined) return;
  const prev = extra[key];
  if (typeof value === "string" && (prev === undefined || typeof prev === "string")) {
    extra[key] = (prev ?? "") + value;
  } else if (Array.isArray(value)) extra[key] = [...arr(prev), ...value];
  else extra[key] = value;
}

function applyCall(p: PendingChoice, piece: unknown, position: number): void {
  if (!isRecord(piece)) return;
  const index = num(piece.index) ?? callIndexWithoutIndex(p, piece, position);
  p.lastCall = index;
  let call = p.calls.get(index);
  if (!call) p.calls.set(index, call = { args: "" });
  applyCallPiece(call, piece);
}

/**
 * Where a piece without `index` goes (some servers omit it): the call with its `id`, a new
 * call for a new `id`, else the last call seen (or its position in the delta).
 */
function callIndexWithoutIndex(p: PendingChoice, piece: JsonObject, position: number): number {
  if (typeof piece.id === "string" && piece.id !== "") {
    for (const [i, call] of p.calls) if (call.id === piece.id) return i;
    return p.calls.size > 0 ? Math.max(...p.calls.keys()) + 1 : position;
  }
  return p.lastCall ?? position;
}

function applyCallPiece(call: PendingCall, piece: JsonObject): void {
  const fn = isRecord(piece.function) ? piece.function : piece;
  if (typeof piece.id === "string" && piece.id !== "") call.id = piece.id;
  if (typeof piece.type === "string" && piece.type !== "") call.type = piece.type;
  if (typeof fn.name === "string" && fn.name !== "" && call.name === undefined) {
    call.name = fn.name;
  }
  if (typeof fn.arguments === "string") call.args += fn.arguments;
}

const DELTA_KEYS = new Set(["role", "content", "refusal", "tool_calls", "function_call"]);

function applyChoice(state: StreamState, raw: unknown, position: number): void {
  if (!isRecord(raw)) return;
  const index = num(raw.index) ?? position;
  let p = state.choices.get(index);
  if (!p) state.choices.set(index, p = { index, calls: new Map(), extra: {}, choiceExtra: {} });
  const delta = isRecord(raw.delta) ? raw.delta : isRecord(raw.message) ? raw.message : {};
  if (typeof delta.role === "string") p.role = delta.role;
  if (typeof delta.content === "string") p.content = (p.content ?? "") + delta.content;
  if (typeof delta.refusal === "string") p.refusal = (p.refusal ?? "") + delta.refusal;
  arr(delta.tool_calls).forEach((piece, i) => applyCall(p, piece, i));
  if (isRecord(delta.function_call)) {
    applyCallPiece(p.legacy ??= { args: "" }, delta.function_call);
  }
  for (const [k, v] of Object.entries(delta)) if (!DELTA_KEYS.has(k)) joinExtra(p.extra, k, v);
  if (raw.finish_reason !== undefined && raw.finish_reason !== null) p.finish = raw.finish_reason;
  for (const [k, v] of Object.entries(raw)) {
    if (CHOICE_KEYS.has(k) || v === null || v === undefined) continue;
    // logprobs arrive per chunk: their content lists are joined; other fields replaced.
    const prev = p.choiceExtra[k];
    if (isRecord(v) && isRecord(prev) && Array.isArray(v.content) && Array.isArray(prev.content)) {
      p.choiceExtra[k] = { ...prev, ...v, content: [...prev.content, ...v.content] };
    } else p.choiceExtra[k] = v;
  }
}

function applyChunk(state: StreamState, kind: string, d: JsonObject): void {
  if (kind === "error") {
    const nested = d.error !== undefined && d.error !== null;
    state.errors.push(errorInfo("error event", nested ? d.error : d, !nested));
    return;
  }
  if (kind !== "chunk" && kind !== "usage chunk") return;
  // Known fields and any a provider adds: the latest non-null value wins, arrays are joined.
  for (const [key, value] of Object.entries(d)) {
    if (key === "choices" || key === "usage" || value === null || value === undefined) continue;
    if (key === "object") continue;
    if (Array.isArray(value)) state.meta[key] = [...arr(state.meta[key]), ...value];
    else state.meta[key] = value;
  }
  if (isRecord(d.usage)) state.usage = d.usage;
  arr(d.choices).forEach((c, i) => applyChoice(state, c, i));
}

function callObject(call: PendingCall): JsonObject {
  const out: JsonObject = {};
  if (call.id !== undefined) out.id = call.id;
  out.type = call.type ?? "function";
  out.function = { name: call.name ?? "?", arguments: call.args };
  return out;
}

/** A choice in the shape of a non-streamed `chat.completion` choice. */
function choiceObject(p: PendingChoice): JsonObject {
  const message: JsonObject = { role: p.role ?? "assistant", content: p.content ?? null };
  if (p.refusal !== undefined) message.refusal = p.refusal;
  if (p.calls.size > 0) {
    message.tool_calls = [...p.calls].sort((a, b) => a[0] - b[0]).map(([, c]) => callObject(c));
  }
  if (p.legacy) message.function_call = { name: p.legacy.name ?? "?", arguments: p.legacy.args };
  Object.assign(message, p.extra);
  return { index: p.index, message, finish_reason: p.finish ?? null, ...p.choiceExtra };
}

function truncationNote(events: ParsedSse[], state: StreamState): string | undefined {
  const last = events[events.length - 1];
  const finished = state.choices.size > 0 &&
    [...state.choices.values()].every((c) => c.finish !== undefined);
  const ended = state.sawDone || finished || state.errors.length > 0;
  if (!ended) {
    const kind = lastEventText(last, last ? kindOf(last) : "");
    return `stream truncated: no [DONE] or finish_reason (last event: ${kind})`;
  }
  if (last && !last.complete && !isDone(last)) {
    return `stream truncated: last event cut off (${kindOf(last)})`;
  }
  return undefined;
}

function renderStream(events: SseEvent[], view?: ResponseView): RenderedBody {
  const parsed = events.map(parseSseEvent);
  const kinds = parsed.map(kindOf);
  const state: StreamState = { meta: {}, choices: new Map(), errors: [], sawDone: false };
  parsed.forEach((e, i) => {
    if (kinds[i] === DONE) state.sawDone = true;
    else if (e.data) applyChunk(state, kinds[i], e.data);
  });

  const truncated = truncationNote(parsed, state);
  const choices = [...state.choices].sort((a, b) => a[0] - b[0]).map(([, p]) => ({
    choice: choiceObject(p),
    partial: truncated !== undefined && p.finish === undefined,
  }));
  const resp: JsonObject = { ...state.meta };
  if (state.usage) resp.usage = state.usage;
  const final = renderCompletion(resp, choices, state.errors);
  const unknownLabel = (e: ParsedSse) => {
    const kind = kindOf(e);
    return CHUNK_KINDS.has(kind) ? undefined : kind;
  };
  return finishedStream(final, parsed, unknownLabel, {
    truncated,
    partial: "Choices that never finished were assembled from delta chunks.",
    noUsage: "no usage reported (stream_options.include_usage not set?)",
    kinds,
    sentinel: isDone,
    title: eventsTitle(view),
  });
}

// ---------------------------------------------------------------------------------------------
// Response: JSON body

/** The error of an error body: `{error:{message, type, param, code}}`, or a 4xx/5xx message. */
function bodyError(body: JsonObject, status: number): ErrorInfo | undefined {
  if (body.error !== undefined && body.error !== null) return errorInfo("API error", body.error);
  if (status >= 400 && !Array.isArray(body.choices)) {
    const message = str(body.message) ?? str(body.detail);
    if (message !== undefined) return { source: "API error", message, code: str(body.code) };
  }
  return undefined;
}

function renderJsonBody(body: JsonObject, status: number): RenderedBody {
  const err = bodyError(body, status);
  if (err) return apiErrorBody(body, err, status);
  if (body.object === "chat.completion" || Array.isArray(body.choices)) {
    const choices = arr(body.choices).map((choice, i) => ({
      choice: isRecord(choice) ? choice : { index: i, message: { "(not an object)": choice } },
      partial: false,
    }));
    return usageChecked(renderCompletion(body, choices, []));
  }
  return { blocks: [code(prettyJson(body), "json")] };
}

function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  return renderByShape(view, renderStream, renderJsonBody);
}

/** `POST …/chat/completions`, or any body with a `messages` array on another path. */
function detect(req: DetectInput): number {
  if (req.method !== "POST") return Confidence.none;
  if (/\/chat\/completions$/.test(req.path)) return Confidence.endpoint;
  // The loosest shape: Anthropic's messages, which carry markers of their own, rank first.
  return isRecord(req.body) && Array.isArray(req.body.messages)
    ? Confidence.shape
    : Confidence.none;
}

/** The OpenAI Chat Completions API renderer (and the servers that copy its shape). */
export const openaiChat: Renderer = {
  id: "openai_chat",
  name: "OpenAI Chat Completions API",
  detect,
  renderRequest,
  renderResponse,
  requestParts,
};
