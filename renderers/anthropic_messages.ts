/**
 * Tier-2 renderer for the Anthropic Messages API (`POST /v1/messages`, Claude Code's
 * `/v1/messages?beta=true`): the request's settings, system prompt, messages (one row per
 * content block) and tools; the response message rebuilt from its SSE events (or a plain JSON
 * message), with usage computed the way the SDK's `MessageStream` does, and the problems a
 * reader should see first (error events, cut-off streams, missing usage).
 *
 * Unknown fields, block types and event types are kept and shown raw; nothing here throws on
 * odd input.
 */

import { Confidence } from "../lib/detect.ts";
import { getHeader } from "../lib/headers.ts";
import type {
  Block,
  DetectInput,
  Entry,
  RenderedBody,
  Renderer,
  RequestParts,
  ResponseView,
  SseEvent,
  SubCallUsage,
  Usage,
} from "../lib/types.ts";
import { base64Bytes } from "../lib/base64.ts";
import {
  arr,
  isRecord,
  type JsonObject,
  num,
  remainingKeys,
  str,
  tryParseJson,
} from "../lib/json.ts";
import {
  callBlocks,
  cappedTextBlocks,
  code,
  fields,
  heading,
  paragraph,
  rawSection,
  textSection,
} from "./blocks.ts";
import { apiErrorBody, type ErrorInfo, errorInfo } from "./errors.ts";
import { renderFromParts, unitItems, withoutCacheControl } from "./request_parts.ts";
import { finalBody, PARTIAL_NOTE, renderByShape, usageChecked } from "./response.ts";
import { type FieldSpec, otherSettingsFor, settingsParts } from "./settings.ts";
import {
  eventsTitle,
  finishedStream,
  type ParsedSse,
  parseSseEvent,
  streamTruncation,
} from "./sse_events.ts";
import { capText, charCount, excerpt } from "./text.ts";
import {
  descriptionCell,
  oddToolRow,
  otherKeysCell,
  schemaParams,
  toolDescriptionsBlocks,
  toolsPart,
  toolsSection,
} from "./tools.ts";
import {
  compactJson,
  inlineValue,
  joinedText,
  listValue,
  objectSummary,
  prettyJson,
} from "./values.ts";
import { citationBlocks } from "./citations.ts";

/** Length of a table cell excerpt. */
const CELL = 200;
/** Length of the excerpt of a tool result in its cell. */
const TOOL_CELL = 160;
/** Cap for one system prompt block (Claude Code sends ~15k characters). */
const MAX_SYSTEM = 200_000;

// ---------------------------------------------------------------------------------------------
// Request

/** `metadata` as the user id it carries (an identifier, not a secret), else compact JSON. */
function metadataValue(value: unknown): string {
  if (isRecord(value) && typeof value.user_id === "string") return value.user_id;
  return inlineValue(value);
}

/** Top-level request keys shown as label/value rows, in display order. */
const FIELD_SPECS: FieldSpec[] = [
  ["model", "Model", inlineValue],
  ["max_tokens", "Max tokens", inlineValue],
  ["stream", "Stream", inlineValue],
  ["thinking", "Thinking", objectSummary],
  ["tool_choice", "Tool choice", objectSummary],
  ["temperature", "Temperature", inlineValue],
  ["top_p", "Top P", inlineValue],
  ["top_k", "Top K", inlineValue],
  ["stop_sequences", "Stop sequences", listValue],
  ["metadata", "User ID (metadata)", metadataValue],
];

/** `metadata` needs no repeat in "Other settings" when it holds just a string `user_id`. */
function metadataShown(value: unknown): boolean {
  return isRecord(value) && typeof value.user_id === "string" &&
    Object.keys(value).length === 1;
}

/** " [cache: ephemeral 1h]" for a block with `cache_control`, else "". */
function cacheNote(block: JsonObject): string {
  const cc = block.cache_control;
  if (cc === undefined || cc === null) return "";
  if (!isRecord(cc)) return ` [cache: ${inlineValue(cc)}]`;
  const parts = [str(cc.type) ?? inlineValue(cc.type ?? "?")];
  if (cc.ttl !== undefined) parts.push(inlineValue(cc.ttl));
  return ` [cache: ${parts.join(" ")}]`;
}

const isTextBlock = (block: unknown): block is JsonObject & { text: string } =>
  isRecord(block) && block.type === "text" && typeof block.text === "string";

function systemBlocks(system: unknown): Block[] {
  const title = "System prompt";
  if (system === undefined) return [];
  if (typeof system === "string") return textSection(title, system, MAX_SYSTEM);
  if (!Array.isArray(system)) {
    return rawSection(title, "system is neither a string nor an array of blocks:", system);
  }
  const blocks = [heading(title)];
  system.forEach((block, i) => {
    const label = `Block ${i + 1} of ${system.length}`;
    if (isTextBlock(block)) {
      blocks.push(
        paragraph(`${label}: text, ${charCount(block.text)} characters${cacheNote(block)}`),
        ...cappedTextBlocks(block.text, MAX_SYSTEM),
      );
    } else {
      const type = isRecord(block) ? str(block.type) ?? "(no type)" : typeof block;
      blocks.push(paragraph(`${label}: ${type}`), code(prettyJson(block), "json"));
    }
  });
  if (system.length === 0) blocks.push(paragraph("(no blocks)"));
  return blocks;
}

/**
 * The system prompt's text, compared across requests: a string as it is, text blocks' texts
 * joined by blank lines (other blocks as JSON; cache breakpoints do not count).
 */
function systemText(system: unknown): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return JSON.stringify(system);
  return system.map((b) =>
    isTextBlock(b) ? b.text : JSON.stringify(isRecord(b) ? withoutCacheControl(b) : b)
  ).join("\n\n");
}

/** "[image: image/png, 5120 bytes base64]", "[image: https://…]" for an image/document source. */
function sourceText(source: unknown): string {
  if (!isRecord(source)) return source === undefined ? "?" : compactJson(source, 80);
  const data = str(source.data);
  switch (source.type) {
    case "base64":
      return `${str(source.media_type) ?? "?"}, ${base64Bytes(data ?? "")} bytes base64`;
    case "url":
      return str(source.url) ?? "?";
    case "file":
      return `file ${str(source.file_id) ?? "?"}`;
    case "text":
      return `text, ${charCount(data ?? "")} characters`;
    default:
      return compactJson(source, 80);
  }
}

/** Text of a `tool_result` content: a string or an array of blocks. */
function resultText(content: unknown): string {
  return joinedText(content, blockExcerpt);
}

/** The Content cell of one content block (request or response side). */
function blockExcerpt(block: unknown): string {
  if (typeof block === "string") return excerpt(block, CELL);
  if (!isRecord(block)) return excerpt(compactJson(block, 80), CELL);
  const cache = cacheNote(block);
  switch (block.type) {
    case "text":
      return excerpt(str(block.text) ?? compactJson(block.text, 80), CELL) + cache;
    case "image":
      return `[image: ${sourceText(block.source)}]${cache}`;
    case "document": {
      const title = str(block.title);
      return `[document: ${title ? `${title}, ` : ""}${sourceText(block.source)}]${cache}`;
    }
    case "tool_use":
    case "server_tool_use":
    case "mcp_tool_use": {
      const input = compactJson(block.input, 80);
      const id = str(block.id);
      return `${str(block.name) ?? "?"}(${excerpt(input, 160)})${id ? ` [${id}]` : ""}${cache}`;
    }
    case "tool_result": {
      const err = block.is_error === true ? "[error] " : "";
      const id = str(block.tool_use_id) ?? "?";
      return `${id} → ${err}${excerpt(resultText(block.content), TOOL_CELL)}${cache}`;
    }
    case "thinking": {
      const sig = str(block.signature);
      const text = excerpt(str(block.thinking) ?? "", CELL);
      const note = sig ? `[signature ${sig.length} chars]` : "";
      return [text, note].filter((t) => t !== "").join(" ") || "(empty)";
    }
    case "redacted_thinking":
      return `[redacted thinking ${str(block.data)?.length ?? 0} chars]`;
    default: {
      const { type: _type, ...rest } = block;
      return excerpt(compactJson(rest, 80), CELL);
    }
  }
}

function blockRow(n: string, role: string, block: unknown): string[] {
  if (typeof block === "string") return [n, role, "text", excerpt(block, CELL)];
  if (!isRecord(block)) {
    return [n, role, Array.isArray(block) ? "array" : typeof block, blockExcerpt(block)];
  }
  const type = str(block.type) ?? "(no type)";
  const shownRole = type === "tool_result" ? "tool result" : role;
  return [n, shownRole, type, blockExcerpt(block)];
}

/** The content blocks of a message that are rows of their own; undefined when it is one row. */
function blocksOf(message: unknown): unknown[] | undefined {
  const content = isRecord(message) ? message.content : undefined;
  return Array.isArray(content) && content.length > 0 ? content : undefined;
}

const roleOf = (message: JsonObject) => str(message.role) ?? inlineValue(message.role ?? "");
const MESSAGE_KEYS: ReadonlySet<string> = new Set(["role", "content"]);

/**
 * Identities of a message's rows: each content block with the role (and any other message
 * keys), cache breakpoints left out, string content as the text block it stands for.
 */
function messageKeys(message: unknown): unknown[] {
  if (!isRecord(message)) return [message];
  const { role, content } = message;
  const rest = remainingKeys(message, MESSAGE_KEYS);
  const key = (block: unknown) => ({
    role,
    block: isRecord(block) ? withoutCacheControl(block) : block,
    rest,
  });
  if (typeof content === "string") return [key({ type: "text", text: content })];
  if (Array.isArray(content) && content.length > 0) return content.map(key);
  if (isRecord(content)) return [key(content)];
  return [message];
}

/** Row `unit` of a message: one per content block, numbered "3" or "3.1", "3.2", ... */
function messageRow(message: unknown, index: number, unit: number): string[] {
  const n = String(index + 1);
  if (!isRecord(message)) {
    const type = Array.isArray(message) ? "array" : typeof message;
    return [n, "", type, excerpt(compactJson(message), CELL)];
  }
  const role = roleOf(message);
  const content = message.content;
  let row: string[];
  let last = true;
  if (typeof content === "string") row = [n, role, "text", excerpt(content, CELL)];
  else if (Array.isArray(content)) {
    if (content.length === 0) row = [n, role, "(no blocks)", ""];
    else if (content.length === 1) row = blockRow(n, role, content[0]);
    else {
      row = blockRow(`${n}.${unit + 1}`, role, content[unit]);
      last = unit === content.length - 1;
    }
  } else if (isRecord(content)) row = blockRow(n, role, content);
  else {
    const type = content === undefined ? "(no content)" : `(content: ${typeof content})`;
    row = [n, role, type, content === undefined ? "" : excerpt(compactJson(content), CELL)];
  }
  const rest = last ? remainingKeys(message, MESSAGE_KEYS) : undefined;
  if (rest) row[3] = excerpt(`${row[3]} ${compactJson(rest, 60)}`, CELL);
  return row;
}

/** Text of a `tool_result` content in full: text blocks whole, other blocks as their cell. */
function resultFullText(content: unknown): string {
  return joinedText(content, (b) => (isTextBlock(b) ? b.text : blockExcerpt(b)), "\n\n");
}

/**
 * Full text of a row that shows only an excerpt: long user text and tool results. Assistant
 * blocks are skipped: they repeat an answer the report already showed.
 */
function unitFullText(message: unknown, unit: number): string | undefined {
  if (!isRecord(message) || message.role === "assistant") return undefined;
  const blocks = blocksOf(message);
  const block = blocks ? blocks[unit] : message.content;
  let text: string | undefined;
  let max = CELL;
  if (typeof block === "string") text = block;
  else if (isTextBlock(block)) text = block.text;
  else if (isRecord(block) && block.type === "tool_result") {
    text = resultFullText(block.content);
    max = TOOL_CELL;
  }
  return text !== undefined && text.length > max ? capText(text).text : undefined;
}

/** The messages as conversation items, one per content block. */
function messageItems(messages: unknown[]): RequestParts["items"] {
  return unitItems({
    title: "Content blocks",
    header: ["#", "Role", "Type", "Content"],
    messages,
    keys: messageKeys,
    row: messageRow,
    full: unitFullText,
  });
}

/** The Parameters cell of a tool: its input_schema's parameters, else its other settings. */
function toolParams(tool: JsonObject): string {
  if (tool.input_schema !== undefined) return schemaParams(tool.input_schema);
  return otherKeysCell(tool, TOOL_KEYS);
}

const TOOL_KEYS: ReadonlySet<string> = new Set(["type", "name", "description", "cache_control"]);

const toolName = (tool: unknown) => isRecord(tool) ? str(tool.name) ?? str(tool.type) ?? "?" : "?";

function toolRow(tool: unknown): string[] {
  if (!isRecord(tool)) return oddToolRow(tool);
  const type = `${str(tool.type) ?? ""}${cacheNote(tool)}`.trim();
  return [toolName(tool), type, descriptionCell(str(tool.description) ?? ""), toolParams(tool)];
}

/** The tools table and schemas, then the descriptions the table cuts, in full. */
function toolsBlocks(tools: unknown): Block[] {
  const blocks = toolsSection(tools, (t) => [toolRow(t)], (t) => [[toolName(t), t.input_schema]]);
  if (!Array.isArray(tools)) return blocks;
  const descriptions: [string, string][] = [];
  for (const t of tools) {
    const description = isRecord(t) ? str(t.description) : undefined;
    if (description !== undefined) descriptions.push([toolName(t), description]);
  }
  return [...blocks, ...toolDescriptionsBlocks(descriptions)];
}

/** Keys rendered by their own section: not repeated in "Other settings". */
const SECTION_KEYS = ["system", "messages", "tools"];

/**
 * The request split for the per-turn view. Anthropic bodies carry no conversation id
 * (`metadata.user_id` names the device and account), so requests are grouped by header or by
 * shared history.
 */
function requestParts(body: unknown, _entry: Entry): RequestParts | undefined {
  if (!isRecord(body)) return undefined;
  const { parts, cut } = settingsParts(body, FIELD_SPECS);
  const system = body.system;
  if (system !== undefined) {
    parts.system = {
      title: "System prompt",
      text: systemText(system),
      blocks: () => systemBlocks(system),
    };
  }
  const messages = body.messages;
  if (Array.isArray(messages)) parts.items = messageItems(messages);
  else if (messages !== undefined) {
    parts.extra.push(...rawSection("Messages", "messages is not an array:", messages));
  }
  const toolPart = toolsPart(body.tools, toolName, toolsBlocks);
  if (toolPart.tools) parts.tools = toolPart.tools;
  parts.extra.push(...toolPart.extra);
  const shownWhole = (k: string) => k !== "metadata" || metadataShown(body.metadata);
  parts.extra.push(...otherSettingsFor(body, SECTION_KEYS, FIELD_SPECS, cut, shownWhole));
  return parts;
}

function renderRequest(body: unknown, entry: Entry): RenderedBody {
  return renderFromParts(requestParts(body, entry), body);
}

// ---------------------------------------------------------------------------------------------
// Response: the final message (JSON body or rebuilt from the stream)

/** A content block of the response, and whether it never got its `content_block_stop`. */
interface ContentEntry {
  block: JsonObject;
  partial: boolean;
}

const USAGE_COUNTS = [
  "input_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "output_tokens",
];

/** Usage paths the usage line shows (1h writes split out; 5m writes are the rest). */
const USAGE_SHOWN: ReadonlySet<string> = new Set([
  ...USAGE_COUNTS,
  "cache_creation.ephemeral_1h_input_tokens",
  "cache_creation.ephemeral_5m_input_tokens",
  "output_tokens_details.thinking_tokens",
  "server_tool_use",
  "iterations",
]);

/**
 * Normalised usage of an Anthropic `usage` object: `input_tokens` excludes cache reads and
 * writes, so input = input + cache writes + cache reads. Thinking tokens
 * (`output_tokens_details.thinking_tokens`) are part of output; 1-hour cache writes come from
 * `cache_creation`; `server_tool_use` counts requests billed per request; `iterations[]` other
 * than the message's own (compaction, advisor) are sub-calls billed on top of the top-level
 * counts. Undefined when there are no counts.
 */
export function anthropicUsage(raw: unknown): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const usage = tokenCounts(raw);
  if (!usage) return undefined;
  const details = isRecord(raw.output_tokens_details) ? raw.output_tokens_details : {};
  const thinking = num(details.thinking_tokens);
  if (thinking !== undefined && thinking > 0) usage.reasoning = thinking;
  if (isRecord(raw.server_tool_use)) {
    const tools: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw.server_tool_use)) {
      if (typeof v === "number" && v > 0) tools[k] = v;
    }
    if (Object.keys(tools).length > 0) usage.serverTools = tools;
  }
  const subCalls: SubCallUsage[] = [];
  for (const it of arr(raw.iterations)) {
    if (!isRecord(it) || it.type === "message") continue;
    const counts = tokenCounts(it);
    if (!counts) continue;
    const sub: SubCallUsage = { kind: str(it.type) ?? "iteration", usage: counts };
    if (str(it.model)) sub.model = str(it.model);
    subCalls.push(sub);
  }
  if (subCalls.length > 0) usage.subCalls = subCalls;
  return usage;
}

/** The token counts of a usage object or one of its iterations (see {@link anthropicUsage}). */
function tokenCounts(raw: JsonObject): Usage | undefined {
  const [input, cacheWrite, cacheRead, output] = USAGE_COUNTS.map((k) => num(raw[k]));
  if (input === undefined && output === undefined) return undefined;
  const allInput = (input ?? 0) + (cacheWrite ?? 0) + (cacheRead ?? 0);
  const usage: Usage = { input: allInput, output: output ?? 0, total: allInput + (output ?? 0) };
  if (cacheRead !== undefined && cacheRead > 0) usage.cached = cacheRead;
  if (cacheWrite !== undefined && cacheWrite > 0) usage.cacheWrite = cacheWrite;
  const h1 = isRecord(raw.cache_creation) ? num(raw.cache_creation.ephemeral_1h_input_tokens) : 0;
  if (h1 !== undefined && h1 > 0) usage.cacheWrite1h = h1;
  return usage;
}

/** Stop reasons that mean the answer is not what the model would have finished with. */
const BAD_STOPS: Record<string, string> = {
  max_tokens: "stop reason: max_tokens (output cut off)",
  model_context_window_exceeded: "stop reason: model_context_window_exceeded (output cut off)",
  refusal: "stop reason: refusal",
};

function stopText(msg: JsonObject): string | undefined {
  if (msg.stop_reason === undefined || msg.stop_reason === null) return undefined;
  const reason = inlineValue(msg.stop_reason);
  const seq = msg.stop_sequence;
  return typeof seq === "string" ? `${reason} (${JSON.stringify(seq)})` : reason;
}

/** What a content block is, for grouping consecutive blocks under one heading. */
type Kind = "text" | "thinking" | "call" | "result" | "compaction" | "other";

const CALL_TYPES = new Set(["tool_use", "server_tool_use", "mcp_tool_use"]);

function kindOf(type: unknown): Kind {
  if (type === "text") return "text";
  if (type === "thinking" || type === "redacted_thinking") return "thinking";
  if (typeof type === "string" && CALL_TYPES.has(type)) return "call";
  if (typeof type === "string" && type.endsWith("_tool_result")) return "result";
  if (type === "compaction") return "compaction";
  return "other";
}

/**
 * Consecutive text blocks are one passage: the API splits text where a citation starts or
 * ends ("summit", ". The White House" with its citation), so they join with nothing between.
 */
function textRunBlocks(run: ContentEntry[]): Block[] {
  const text = run.map((e) => str(e.block.text) ?? inlineValue(e.block.text ?? "")).join("");
  const blocks = [heading("Output text"), code(text, "text")];
  if (run.some((e) => e.partial)) blocks.push(paragraph(PARTIAL_NOTE));
  blocks.push(...citationBlocks(run.flatMap((e) => arr(e.block.citations))));
  return blocks;
}

function thinkingRunBlocks(run: ContentEntry[]): Block[] {
  const blocks: Block[] = [heading("Thinking")];
  for (const { block, partial } of run) {
    if (block.type === "thinking") {
      const text = str(block.thinking) ?? inlineValue(block.thinking ?? "");
      if (text !== "") blocks.push(code(text, "text"));
      const sig = str(block.signature);
      if (sig) blocks.push(paragraph(`[signature ${sig.length} chars]`));
      if (partial) blocks.push(paragraph(PARTIAL_NOTE));
    } else {
      blocks.push(paragraph(`[redacted thinking ${str(block.data)?.length ?? 0} chars]`));
    }
  }
  return blocks;
}

function toolCallBlocks({ block, partial }: ContentEntry): Block[] {
  const rows: [string, string][] = [["Name", str(block.name) ?? inlineValue(block.name ?? "?")]];
  const id = str(block.id);
  if (id !== undefined) rows.push(["ID", id]);
  rows.push(["Type", str(block.type) ?? ""]);
  if (block.server_name !== undefined) rows.push(["MCP server", inlineValue(block.server_name)]);
  if (partial) rows.push(["Status", "incomplete (assembled from deltas)"]);
  return callBlocks(rows, block.input);
}

const RESULT_KEYS: ReadonlySet<string> = new Set(["type", "tool_use_id", "is_error", "content"]);

/**
 * A server tool's result (web search, web fetch, code execution, MCP, ...): its type and call
 * id, then its content as a reader wants it: search results as a list, a program's output as
 * text, anything else as JSON.
 */
function toolResultBlocks({ block, partial }: ContentEntry): Block[] {
  const rows: [string, string][] = [["Type", str(block.type) ?? ""]];
  const id = str(block.tool_use_id);
  if (id !== undefined) rows.push(["Tool use ID", id]);
  if (block.is_error === true) rows.push(["Error", "yes"]);
  if (partial) rows.push(["Status", "incomplete (never completed)"]);
  const content = block.content;
  const blocks: Block[] = [fields(rows)];
  const rest = remainingKeys(block, RESULT_KEYS);
  const results = arr(content).filter(isRecord);
  if (Array.isArray(content) && results.length > 0 && results.every((r) => "url" in r)) {
    blocks.push({
      kind: "list",
      items: results.map((r) => {
        const age = str(r.page_age) ? ` (${str(r.page_age)})` : "";
        return `${str(r.title) ?? "(no title)"}: ${str(r.url) ?? inlineValue(r.url)}${age}`;
      }),
    });
  } else if (isRecord(content) && ("stdout" in content || "stderr" in content)) {
    const out: [string, string][] = [["Result", str(content.type) ?? ""]];
    if (content.return_code !== undefined) {
      out.push(["Return code", inlineValue(content.return_code)]);
    }
    blocks.push(fields(out));
    if (str(content.stdout)) blocks.push(paragraph("stdout:"), code(str(content.stdout)!, "text"));
    if (str(content.stderr)) blocks.push(paragraph("stderr:"), code(str(content.stderr)!, "text"));
    const more = remainingKeys(content, new Set(["type", "stdout", "stderr", "return_code"]));
    if (more) blocks.push(code(prettyJson(more), "json"));
  } else if (isRecord(content) && typeof content.text === "string") {
    // e.g. advisor_result: the sub-call's answer.
    blocks.push(fields([["Result", str(content.type) ?? ""]]), code(content.text, "text"));
    const more = remainingKeys(content, new Set(["type", "text"]));
    if (more) blocks.push(code(prettyJson(more), "json"));
  } else if (Array.isArray(content) && content.every(isTextBlock)) {
    blocks.push(code(content.map((b) => b.text).join("\n\n"), "text"));
  } else if (content !== undefined) {
    blocks.push(code(prettyJson(content), "json"));
  }
  if (rest) blocks.push(code(prettyJson(rest), "json"));
  return blocks;
}

/** A compaction block: the summary that replaces the earlier conversation. */
function compactionBlocks({ block, partial }: ContentEntry): Block[] {
  const text = str(block.content);
  const blocks: Block[] = [heading("Compaction summary")];
  blocks.push(text !== undefined ? code(text, "text") : paragraph("(no summary text)"));
  const encrypted = str(block.encrypted_content);
  if (encrypted) blocks.push(paragraph(`[encrypted content ${encrypted.length} chars]`));
  if (partial) blocks.push(paragraph(PARTIAL_NOTE));
  return blocks;
}

/**
 * The content in the order the model produced it: each run of blocks of one kind (text,
 * thinking, tool calls, tool results, ...) under its heading, so interleaved thinking, calls
 * and text read as streamed.
 */
function contentBlocks(entries: ContentEntry[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < entries.length;) {
    const kind = kindOf(entries[i].block.type);
    let j = i + 1;
    while (j < entries.length && kindOf(entries[j].block.type) === kind) j++;
    const run = entries.slice(i, j);
    i = j;
    switch (kind) {
      case "text":
        blocks.push(...textRunBlocks(run));
        break;
      case "thinking":
        blocks.push(...thinkingRunBlocks(run));
        break;
      case "call":
        blocks.push(heading("Tool calls"), ...run.flatMap(toolCallBlocks));
        break;
      case "result":
        blocks.push(heading("Tool results"), ...run.flatMap(toolResultBlocks));
        break;
      case "compaction":
        blocks.push(...run.flatMap(compactionBlocks));
        break;
      default:
        blocks.push(heading("Other content blocks"));
        for (const { block, partial } of run) {
          const rows: [string, string][] = [["Type", str(block.type) ?? "(no type)"]];
          if (partial) rows.push(["Status", "incomplete (never completed)"]);
          blocks.push(fields(rows), code(prettyJson(block), "json"));
        }
    }
  }
  if (entries.length === 0) blocks.push(paragraph("(no content blocks)"));
  return blocks;
}

/**
 * Renders a final (or last known) message: summary fields with the stop reason and usage, the
 * errors, then the content. Used for JSON bodies and for the message rebuilt from a stream.
 */
function renderMessage(
  msg: JsonObject | undefined,
  entries: ContentEntry[],
  errors: ErrorInfo[],
): RenderedBody & { problems: string[] } {
  const model = str(msg?.model);
  const bad = msg && BAD_STOPS[str(msg.stop_reason) ?? ""];
  const out = finalBody({
    rows: msg
      ? [["Message ID", str(msg.id)], ["Model", model], ["Stop reason", stopText(msg)]]
      : [],
    usage: anthropicUsage(msg?.usage),
    errors,
    problems: bad ? [bad] : [],
    content: contentBlocks(entries),
    model,
    columns: ["type", "message"],
    rawUsage: { raw: msg?.usage, shown: USAGE_SHOWN },
  });
  return { ...out, final: { ...msg, content: entries.map((e) => e.block) } };
}

// ---------------------------------------------------------------------------------------------
// Response: SSE stream

/** One content block being assembled from `content_block_*` events. */
interface PendingBlock {
  block: JsonObject;
  /** The joined `partial_json` strings of a tool_use block, when any came. */
  json?: string;
  stopped: boolean;
}

/** Everything gathered from a stream. */
interface StreamState {
  message?: JsonObject;
  /** Running usage: message_start's, with each message_delta's counts replacing it. */
  usage?: JsonObject;
  /** `message_delta.delta` fields (stop_reason, stop_sequence, ...), latest value wins. */
  delta: JsonObject;
  blocks: Map<number, PendingBlock>;
  errors: ErrorInfo[];
  /** tool_use blocks whose joined input is not JSON. */
  badJson: string[];
}

const KNOWN_EVENTS = new Set([
  "message_start",
  "message_delta",
  "message_stop",
  "content_block_start",
  "content_block_delta",
  "content_block_stop",
  "ping",
  "error",
]);

const KNOWN_DELTAS = new Set([
  "text_delta",
  "input_json_delta",
  "thinking_delta",
  "signature_delta",
  "citations_delta",
  "compaction_delta",
]);

/** Events that end a stream: after one of them, no `message_stop` is not a cut-off. */
const TERMINAL = new Set(["message_stop", "error"]);

/** The block type a delta implies, for a delta whose block never started. */
const DELTA_BLOCK: Record<string, string> = {
  text_delta: "text",
  input_json_delta: "tool_use",
  thinking_delta: "thinking",
  signature_delta: "thinking",
  compaction_delta: "compaction",
};

function pendingAt(state: StreamState, index: number, deltaType: string): PendingBlock {
  let p = state.blocks.get(index);
  if (!p) {
    p = { block: { type: DELTA_BLOCK[deltaType] ?? "(unknown)" }, stopped: false };
    state.blocks.set(index, p);
  }
  return p;
}

function appendText(block: JsonObject, key: string, piece: unknown): void {
  if (typeof piece === "string") block[key] = (str(block[key]) ?? "") + piece;
}

function applyDelta(p: PendingBlock, delta: JsonObject): void {
  switch (delta.type) {
    case "text_delta":
      appendText(p.block, "text", delta.text);
      break;
    case "thinking_delta":
      appendText(p.block, "thinking", delta.thinking);
      break;
    case "signature_delta":
      if (typeof delta.signature === "string") p.block.signature = delta.signature;
      break;
    case "input_json_delta":
      if (typeof delta.partial_json === "string") p.json = (p.json ?? "") + delta.partial_json;
      break;
    case "citations_delta":
      p.block.citations = [...arr(p.block.citations), delta.citation ?? delta];
      break;
    case "compaction_delta":
      // The summary usually comes whole in one delta; pieces, if any, are joined.
      appendText(p.block, "content", delta.content);
      if (typeof delta.encrypted_content === "string") {
        p.block.encrypted_content = delta.encrypted_content;
      }
      break;
  }
}

/** Applies `message_delta.usage`: every non-null count replaces the running one (never adds). */
function applyUsage(state: StreamState, usage: unknown): void {
  if (!isRecord(usage)) return;
  const next: JsonObject = { ...state.usage };
  for (const [k, v] of Object.entries(usage)) if (v !== null && v !== undefined) next[k] = v;
  state.usage = next;
}

function applyEvent(state: StreamState, type: string, d: JsonObject): void {
  switch (type) {
    case "message_start":
      if (isRecord(d.message)) {
        state.message = d.message;
        if (isRecord(d.message.usage)) state.usage = { ...d.message.usage };
      }
      return;
    case "message_delta":
      if (isRecord(d.delta)) Object.assign(state.delta, d.delta);
      applyUsage(state, d.usage);
      return;
    case "error": {
      const nested = d.error !== undefined && d.error !== null;
      state.errors.push(errorInfo("error event", nested ? d.error : d, !nested));
      return;
    }
  }
  const index = num(d.index);
  if (index === undefined) return;
  if (type === "content_block_start") {
    const start = isRecord(d.content_block) ? { ...d.content_block } : { type: "(unknown)" };
    state.blocks.set(index, { block: start, stopped: false });
  } else if (type === "content_block_delta" && isRecord(d.delta)) {
    applyDelta(pendingAt(state, index, str(d.delta.type) ?? ""), d.delta);
  } else if (type === "content_block_stop") {
    const p = state.blocks.get(index);
    if (p) p.stopped = true;
  }
}

/** A block as it ended: tool_use input parsed once from the joined JSON ("" means {}). */
function finishBlock(p: PendingBlock, badJson: string[]): ContentEntry {
  const block = { ...p.block };
  if (p.json !== undefined) {
    if (p.json.trim() === "") block.input = {};
    else {
      const parsed = tryParseJson(p.json);
      block.input = parsed.ok ? parsed.value : p.json;
      if (!parsed.ok && p.stopped) badJson.push(str(block.id) ?? str(block.name) ?? "?");
    }
  }
  return { block, partial: !p.stopped };
}

/** The message the stream describes, in the shape of a non-streamed JSON response. */
function assembled(state: StreamState, entries: ContentEntry[]): JsonObject | undefined {
  if (!state.message && Object.keys(state.delta).length === 0 && !state.usage) return undefined;
  const msg: JsonObject = { ...state.message, ...state.delta };
  msg.content = entries.map((e) => e.block);
  if (state.usage) msg.usage = state.usage;
  return msg;
}

function unknownLabel(e: ParsedSse): string | undefined {
  if (!KNOWN_EVENTS.has(e.type)) return e.type;
  if (e.type !== "content_block_delta" || !isRecord(e.data?.delta)) return undefined;
  const deltaType = str(e.data.delta.type) ?? "(no type)";
  return KNOWN_DELTAS.has(deltaType) ? undefined : `content_block_delta (${deltaType})`;
}

function renderStream(events: SseEvent[], view?: ResponseView): RenderedBody {
  const parsed = events.map(parseSseEvent);
  const state: StreamState = { delta: {}, blocks: new Map(), errors: [], badJson: [] };
  for (const e of parsed) if (e.data) applyEvent(state, e.type, e.data);

  const entries = [...state.blocks].sort((a, b) => a[0] - b[0]).map(([, p]) =>
    finishBlock(p, state.badJson)
  );
  const truncated = streamTruncation(parsed, TERMINAL, "message_stop");
  const final = renderMessage(assembled(state, entries), entries, state.errors);
  const badJson = state.badJson.map((id) => `tool_use ${id}: input is not valid JSON`);
  return finishedStream(
    { ...final, problems: [...final.problems, ...badJson] },
    parsed,
    unknownLabel,
    {
      truncated,
      partial: "Blocks that never completed were assembled from delta events.",
      title: eventsTitle(view),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Response: JSON body

/** The error of an error body: `{type:"error", error:{type, message}, request_id}`. */
function bodyError(body: JsonObject, status: number): ErrorInfo | undefined {
  if (body.type === "message") return undefined;
  const hasError = body.error !== undefined && body.error !== null;
  if (body.type === "error" || (hasError && (status >= 400 || body.type === undefined))) {
    return errorInfo("API error", hasError ? body.error : body, !hasError);
  }
  if (status >= 400 && typeof body.message === "string") {
    return { source: "API error", message: body.message };
  }
  return undefined;
}

function renderJsonBody(body: JsonObject, status: number): RenderedBody {
  const err = bodyError(body, status);
  if (err) {
    const requestId = str(body.request_id);
    return apiErrorBody(
      body,
      err,
      status,
      requestId ? [["Request ID", requestId]] : [],
      new Set(["type", "error", "request_id"]),
    );
  }
  if (body.type === "message" || Array.isArray(body.content)) {
    const entries = arr(body.content).map((block) => ({
      block: isRecord(block) ? block : { type: "(not an object)", value: block },
      partial: false,
    }));
    return usageChecked(renderMessage(body, entries, []));
  }
  return { blocks: [code(prettyJson(body), "json")] };
}

function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  return renderByShape(view, renderStream, renderJsonBody);
}

/**
 * `POST …/messages` (not `…/messages/count_tokens`) or Vertex AI's `…:rawPredict` of an
 * Anthropic model, or a body with a `messages` array that shows Anthropic's marks:
 * `anthropic_version`, `max_tokens` with `system`, an `anthropic-version` header, or
 * `tool_use` / `tool_result` content blocks.
 */
function detect(req: DetectInput): number {
  if (req.method !== "POST") return Confidence.none;
  if (/\/messages$/.test(req.path)) return Confidence.endpoint;
  // Claude on Vertex AI: the Messages body (with anthropic_version) at rawPredict.
  if (/\/publishers\/anthropic\/models\/[^/]+:(?:stream)?[rR]awPredict$/.test(req.path)) {
    return Confidence.endpoint;
  }
  const body = req.body;
  if (!isRecord(body) || !Array.isArray(body.messages)) return Confidence.none;
  const marked = typeof body.anthropic_version === "string" ||
    ("max_tokens" in body && "system" in body) ||
    getHeader(req.headers, "anthropic-version") !== "" || hasToolBlocks(body.messages);
  // Ranked before Chat Completions, which claims any `messages` array.
  return marked ? Confidence.shape + 1 : Confidence.none;
}

function hasToolBlocks(messages: unknown[]): boolean {
  for (const m of messages) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const block of m.content) {
      if (isRecord(block) && (block.type === "tool_use" || block.type === "tool_result")) {
        return true;
      }
    }
  }
  return false;
}

/** The Anthropic Messages API renderer (Claude Code and other Messages clients). */
export const anthropicMessages: Renderer = {
  id: "anthropic_messages",
  detect,
  name: "Anthropic Messages API",
  renderRequest,
  renderResponse,
  requestParts,
};
