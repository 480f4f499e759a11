/**
 * Tier-2 renderer for the Google Gemini API: `models/{model}:generateContent` and
 * `:streamGenerateContent` (SSE with `alt=sse`, else one JSON array), and the Code Assist
 * wrapper the Gemini CLI uses with a Google login (`/v1internal:...`), whose request holds the
 * normal body under `request` and whose reply chunks hold it under `response`.
 *
 * The request's settings, system instruction, contents and tools; the response rebuilt from its
 * chunks (each carries only new parts: texts are concatenated, never replaced), with the last
 * usage seen, and the problems a reader should see first (errors, cut-off streams, blocked
 * prompts). Unknown fields and part types are kept and shown raw; nothing here throws on odd
 * input.
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
  code,
  fields,
  heading,
  nonObjectBody,
  paragraph,
  rawSection,
  textSection,
} from "./blocks.ts";
import { type ErrorInfo, errorsBlocks, googleErrorInfo, googleErrorLine } from "./errors.ts";
import { renderFromParts, unitItems } from "./request_parts.ts";
import { formatUsage, usageFieldsText } from "./response.ts";
import { otherSettings, settingRow } from "./settings.ts";
import {
  cutOffEventBlocks,
  cutOffNote,
  endedWhole,
  eventsTitle,
  nonJsonEventBlocks,
  sseEventsBlocks,
  sseJson,
  sseRaw,
} from "./sse_events.ts";
import { capText, excerpt, firstLine } from "./text.ts";
import { oddToolRow, schemaParams, toolsSection } from "./tools.ts";
import { compactJson, inlineValue, objectSummary, prettyJson } from "./values.ts";
import { citationBlocks } from "./citations.ts";
import { camelGeminiRequest } from "./gemini_keys.ts";

/** Length of a table cell excerpt. */
const CELL = 200;
/** Cap for the system instruction text (the Gemini CLI sends ~30k characters). */
const MAX_INSTRUCTION = 200_000;

/** The model named in a URL path (`…/models/gemini-2.5-pro:streamGenerateContent`), if any. */
export function modelFromUrl(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  const match = /\/models\/([^/:?#]+)/.exec(url);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

// ---------------------------------------------------------------------------------------------
// Parts (shared by request contents and response candidates)

/** The part keys that decide a part's type, in the order they are checked. */
const PART_KINDS = [
  "functionCall",
  "functionResponse",
  "inlineData",
  "fileData",
  "executableCode",
  "codeExecutionResult",
  "text",
] as const;

/** The type label of a part: "text", "thought", "functionCall", ..., or its first key. */
function partType(part: unknown): string {
  if (!isRecord(part)) return Array.isArray(part) ? "(array)" : `(${typeof part})`;
  for (const kind of PART_KINDS) {
    if (kind in part) return kind === "text" && part.thought === true ? "thought" : kind;
  }
  if ("thoughtSignature" in part) return "thoughtSignature";
  return Object.keys(part)[0] ?? "(empty part)";
}

/** Keys read by {@link partCell} for a part of type `type` (the rest is shown raw). */
function knownPartKeys(type: string): Set<string> {
  const keys = new Set(["thoughtSignature", "thought"]);
  keys.add(type === "thought" ? "text" : type);
  return keys;
}

function idNote(obj: JsonObject): string {
  const id = str(obj.id);
  return id ? ` [${id}]` : "";
}

/** The response of a functionResponse: the Gemini CLI's `{output}` shown as its text. */
function functionResponseText(response: unknown): string {
  if (isRecord(response) && Object.keys(response).length === 1 && "output" in response) {
    return typeof response.output === "string" ? response.output : compactJson(response.output);
  }
  return typeof response === "string" ? response : compactJson(response, 100);
}

/** Compact text of a value that should have been a string. */
const textOf = (v: unknown): string => (typeof v === "string" ? v : compactJson(v, 100));

/** One-line description of a part of a known type (without its thoughtSignature). */
function partBody(part: JsonObject, type: string): string {
  switch (type) {
    case "text":
    case "thought":
      return textOf(part.text);
    case "functionCall": {
      const call = part.functionCall;
      if (!isRecord(call)) return compactJson(call, 100);
      const args = call.args === undefined ? "" : compactJson(call.args, 80);
      return `${str(call.name) ?? "?"}(${excerpt(args, 160)})${idNote(call)}`;
    }
    case "functionResponse": {
      const resp = part.functionResponse;
      if (!isRecord(resp)) return compactJson(resp, 100);
      const out = excerpt(functionResponseText(resp.response), 160);
      return `${str(resp.name) ?? "?"} → ${out}${idNote(resp)}`;
    }
    case "inlineData": {
      const d = part.inlineData;
      if (!isRecord(d)) return compactJson(d, 100);
      const size = typeof d.data === "string" ? `${base64Bytes(d.data)} bytes` : "no data";
      return `[inlineData ${str(d.mimeType) ?? "?"}, ${size}]`;
    }
    case "fileData": {
      const d = part.fileData;
      if (!isRecord(d)) return compactJson(d, 100);
      return `[fileData ${str(d.mimeType) ?? "?"}, ${textOf(d.fileUri ?? "?")}]`;
    }
    case "executableCode": {
      const d = part.executableCode;
      return isRecord(d) ? `[${str(d.language) ?? "code"}] ${textOf(d.code ?? "")}` : textOf(d);
    }
    case "codeExecutionResult": {
      const d = part.codeExecutionResult;
      return isRecord(d) ? `[${str(d.outcome) ?? "result"}] ${textOf(d.output ?? "")}` : textOf(d);
    }
    default:
      return "";
  }
}

/**
 * The Content cell of one part: its text or call, "[thoughtSignature N chars]" for a signature,
 * and unknown keys as compact JSON; parts of unknown types as compact JSON.
 */
function partCell(part: unknown): string {
  if (!isRecord(part)) return excerpt(compactJson(part, 100), CELL);
  const type = partType(part);
  const known = PART_KINDS.includes(type as typeof PART_KINDS[number]) || type === "thought";
  const pieces: string[] = [];
  if (known) {
    pieces.push(excerpt(partBody(part, type), CELL));
    const rest = remainingKeys(part, knownPartKeys(type));
    if (rest) pieces.push(excerpt(compactJson(rest, 60), 120));
  } else {
    const { thoughtSignature: _sig, ...rest } = part;
    if (Object.keys(rest).length > 0) pieces.push(excerpt(compactJson(rest, 80), CELL));
  }
  if (part.thoughtSignature !== undefined) pieces.push(signatureNote(part.thoughtSignature));
  return pieces.join(" ");
}

function signatureNote(sig: unknown): string {
  return typeof sig === "string"
    ? `[thoughtSignature ${sig.length} chars]`
    : `[thoughtSignature ${compactJson(sig, 40)}]`;
}

// ---------------------------------------------------------------------------------------------
// Request

/** The Code Assist wrapper, unwrapped: the inner body and the wrapper's own fields. */
interface Unwrapped {
  inner: JsonObject;
  wrapper?: JsonObject;
}

function unwrapRequest(body: JsonObject): Unwrapped {
  if (isRecord(body.request)) return { inner: camelGeminiRequest(body.request), wrapper: body };
  return { inner: camelGeminiRequest(body) };
}

/** "temperature: 0.7, topP: 0.95, thinkingConfig: {"includeThoughts":true}", without `skip`. */
function configSummary(value: unknown, skip?: ReadonlySet<string>): string {
  return objectSummary(value, skip, false);
}

/** Generation config keys shown as a code block of their own. */
const SCHEMA_KEYS: ReadonlySet<string> = new Set(["responseSchema", "responseJsonSchema"]);

/** Keys rendered by their own section or field: not repeated in "Other settings". */
const INNER_SHOWN = [
  "model",
  "contents",
  "systemInstruction",
  "tools",
  "toolConfig",
  "generationConfig",
  "cachedContent",
  "session_id",
];
const WRAPPER_SHOWN = ["model", "project", "user_prompt_id", "request"];

function requestFields(
  { inner, wrapper }: Unwrapped,
  entry: Entry,
): { rows: [string, string][]; cut: Set<string>; model?: string } {
  const rows: [string, string][] = [];
  const cut = new Set<string>();
  const add = (label: string, key: string, value: string) => {
    const setting = settingRow(label, value);
    rows.push(setting.row);
    if (setting.cut) cut.add(key);
  };
  if (wrapper) rows.push(["API", "Code Assist wrapper"]);
  const bodyModel = wrapper?.model ?? inner.model;
  const model = typeof bodyModel === "string" ? bodyModel : modelFromUrl(entry?.request?.url);
  if (bodyModel !== undefined) add("Model", "model", inlineValue(bodyModel));
  else if (model !== undefined) rows.push(["Model", model]);
  if (wrapper?.project !== undefined) rows.push(["Project", inlineValue(wrapper.project)]);
  if (wrapper?.user_prompt_id !== undefined) {
    rows.push(["User prompt ID", inlineValue(wrapper.user_prompt_id)]);
  }
  if (inner.session_id !== undefined) {
    add("Session ID", "session_id", inlineValue(inner.session_id));
  }
  if (inner.generationConfig !== undefined) {
    add(
      "Generation config",
      "generationConfig",
      configSummary(inner.generationConfig, SCHEMA_KEYS),
    );
  }
  if (inner.toolConfig !== undefined) {
    add("Tool config", "toolConfig", configSummary(inner.toolConfig));
  }
  if (inner.cachedContent !== undefined) {
    add("Cached content", "cachedContent", inlineValue(inner.cachedContent));
  }
  return model ? { rows, cut, model } : { rows, cut };
}

function responseSchemaBlocks(config: unknown): Block[] {
  if (!isRecord(config)) return [];
  const blocks: Block[] = [];
  for (const key of SCHEMA_KEYS) {
    if (config[key] === undefined) continue;
    blocks.push(heading(`Response schema (${key})`), code(prettyJson(config[key]), "json"));
  }
  return blocks;
}

/** The system instruction's text (parts joined), or undefined when it has no parts array. */
function systemText(instruction: unknown): string | undefined {
  let text: string | undefined;
  if (typeof instruction === "string") text = instruction;
  else if (isRecord(instruction) && Array.isArray(instruction.parts)) {
    const texts: string[] = [];
    for (const part of instruction.parts) {
      if (isRecord(part) && typeof part.text === "string" && partType(part) === "text") {
        texts.push(part.text);
      } else texts.push(`[${partType(part)}] ${partCell(part)}`);
    }
    text = texts.join("\n\n");
  }
  return text;
}

function systemInstructionBlocks(instruction: unknown): Block[] {
  const text = systemText(instruction);
  return text === undefined
    ? rawSection(
      "System instruction",
      "systemInstruction is not a Content with parts:",
      instruction,
    )
    : textSection("System instruction", text, MAX_INSTRUCTION);
}

/** The text a row shows only in part: long user text and tool results (not model output). */
function partFullText(part: unknown, role: string): string | undefined {
  if (!isRecord(part) || role === "model") return undefined;
  let text: string | undefined;
  const type = partType(part);
  if (type === "text") text = str(part.text);
  else if (type === "functionResponse" && isRecord(part.functionResponse)) {
    text = functionResponseText(part.functionResponse.response);
  }
  return text !== undefined && text.length > CELL ? capText(text).text : undefined;
}

/** The parts of a content that are rows of their own, or undefined when it is one row. */
function partsOf(content: unknown): unknown[] | undefined {
  const parts = isRecord(content) ? content.parts : undefined;
  return Array.isArray(parts) && parts.length > 0 ? parts : undefined;
}

/** Identities of a content's rows: each part with the role, or the whole content. */
function contentKeys(content: unknown): unknown[] {
  const parts = partsOf(content);
  if (!parts) return [content];
  const role = (content as JsonObject).role;
  return parts.map((part) => ({ role, part }));
}

const roleText = (content: JsonObject) =>
  str(content.role) ?? (content.role === undefined ? "" : inlineValue(content.role));

/** Row `unit` of a content: its part, numbered "3" or "3.1", "3.2" for several. */
function contentRow(content: unknown, index: number, unit: number): string[] {
  const n = String(index + 1);
  if (!isRecord(content)) {
    return [n, "", `(${Array.isArray(content) ? "array" : typeof content})`, partCell(content)];
  }
  const role = roleText(content);
  const parts = content.parts;
  if (!Array.isArray(parts)) {
    const rest = remainingKeys(content, new Set(["role"]));
    return [n, role, "(no parts array)", excerpt(compactJson(rest ?? {}, 100), CELL)];
  }
  if (parts.length === 0) return [n, role, "(no parts)", ""];
  const part = parts[unit];
  const type = partType(part);
  return [
    parts.length === 1 ? n : `${n}.${unit + 1}`,
    type === "functionResponse" ? "tool result" : role,
    type,
    partCell(part),
  ];
}

/** The contents as conversation items (one per part), or raw blocks when not an array. */
function contentItems(contents: unknown): RequestParts["items"] | Block[] {
  if (!Array.isArray(contents)) {
    return rawSection("Contents", "contents is not an array:", contents);
  }
  return unitItems({
    title: "Content parts",
    header: ["#", "Role", "Part type", "Content"],
    messages: contents,
    keys: contentKeys,
    row: contentRow,
    full: (content, unit) => {
      const parts = partsOf(content);
      return parts && partFullText(parts[unit], roleText(content as JsonObject));
    },
  });
}

/** Rows of one `tools[]` entry: its function declarations, then its other tool kinds by key. */
function toolRows(tool: unknown): string[][] {
  if (!isRecord(tool)) return [oddToolRow(tool, `(${typeof tool})`)];
  const rows: string[][] = [];
  for (const [key, value] of Object.entries(tool)) {
    if (key === "functionDeclarations" && Array.isArray(value)) {
      for (const fn of value) {
        if (!isRecord(fn)) {
          rows.push(oddToolRow(fn, "function"));
          continue;
        }
        const schema = fn.parameters ?? fn.parametersJsonSchema;
        const params = schema === undefined ? "" : schemaParams(schema);
        rows.push([
          str(fn.name) ?? "?",
          "function",
          firstLine(str(fn.description) ?? "", 120),
          params,
        ]);
      }
    } else {
      const settings = isRecord(value) && Object.keys(value).length === 0
        ? ""
        : excerpt(compactJson(value, 60), 120);
      rows.push([key, "built-in", "", settings]);
    }
  }
  return rows;
}

/** Parameter schemas of a tool's function declarations, by function name. */
function toolSchemas(tool: JsonObject): [string, unknown][] {
  return arr(tool.functionDeclarations).flatMap((fn) =>
    isRecord(fn) ? [[str(fn.name) ?? "?", fn.parameters ?? fn.parametersJsonSchema]] : []
  ) as [string, unknown][];
}

function toolsBlocks(tools: unknown): Block[] {
  return toolsSection(tools, toolRows, toolSchemas, "Kind");
}

/** Tool fingerprints keyed by function name (or built-in tool key), for the per-turn view. */
function toolFingerprints(tools: unknown[]): Record<string, unknown> {
  const fingerprints: Record<string, unknown> = {};
  tools.forEach((tool, i) => {
    if (!isRecord(tool)) {
      fingerprints[`(tool ${i + 1})`] = tool;
      return;
    }
    for (const [key, value] of Object.entries(tool)) {
      if (key === "functionDeclarations" && Array.isArray(value)) {
        value.forEach((fn, j) => {
          const name = isRecord(fn) ? str(fn.name) : undefined;
          fingerprints[name ?? `(function ${i + 1}.${j + 1})`] = fn;
        });
      } else fingerprints[key] = value;
    }
  });
  return fingerprints;
}

function requestParts(body: unknown, entry: Entry): RequestParts | undefined {
  if (!isRecord(body)) return undefined;
  const unwrapped = unwrapRequest(body);
  const { inner, wrapper } = unwrapped;
  const { rows, cut, model } = requestFields(unwrapped, entry);
  const parts: RequestParts = { fields: rows, extra: [] };
  if (model) parts.model = model;
  const session = str(inner.session_id);
  if (session) parts.conversationKey = session;
  const instruction = inner.systemInstruction;
  if (instruction !== undefined) {
    parts.system = {
      title: "System instruction",
      text: systemText(instruction) ?? JSON.stringify(instruction),
      blocks: () => systemInstructionBlocks(instruction),
    };
  }
  if (inner.contents !== undefined) {
    const items = contentItems(inner.contents);
    if (Array.isArray(items)) parts.extra.push(...items);
    else parts.items = items;
  }
  const tools = inner.tools;
  if (Array.isArray(tools)) {
    parts.tools = {
      title: "Tools",
      fingerprints: toolFingerprints(tools),
      blocks: () => toolsBlocks(tools),
    };
  } else parts.extra.push(...toolsBlocks(tools));
  parts.extra.push(...responseSchemaBlocks(inner.generationConfig));
  const rest: JsonObject = {
    ...remainingKeys(inner, new Set(INNER_SHOWN.filter((k) => !cut.has(k)))),
  };
  if (wrapper) {
    const shown = new Set(WRAPPER_SHOWN.filter((k) => !cut.has(k)));
    for (const [k, v] of Object.entries(remainingKeys(wrapper, shown) ?? {})) {
      rest[k in rest ? `(wrapper) ${k}` : k] = v;
    }
  }
  parts.extra.push(...otherSettings(rest));
  return parts;
}

function renderRequest(body: unknown, entry: Entry): RenderedBody {
  return renderFromParts(requestParts(body, entry), body);
}

// ---------------------------------------------------------------------------------------------
// Response: chunks

/** What one chunk (a JSON value from the body or an SSE data line) turned out to be. */
type Chunk =
  | { kind: "response"; resp: JsonObject; wrapper?: JsonObject }
  | { kind: "error"; error: ErrorInfo; raw: JsonObject }
  | { kind: "other"; raw: unknown };

/** Unwraps a Code Assist chunk (`{response, traceId}`) and spots error objects. */
function classify(value: unknown, source: string): Chunk {
  if (!isRecord(value)) return { kind: "other", raw: value };
  if (value.error !== undefined && value.error !== null && !("candidates" in value)) {
    return { kind: "error", error: googleErrorInfo(source, value.error), raw: value };
  }
  if (isRecord(value.response) && !("candidates" in value)) {
    const inner = value.response;
    if (inner.error !== undefined && inner.error !== null && !("candidates" in inner)) {
      return { kind: "error", error: googleErrorInfo(source, inner.error), raw: value };
    }
    return { kind: "response", resp: inner, wrapper: value };
  }
  return { kind: "response", resp: value };
}

/** One candidate rebuilt from all chunks. */
interface CandidateState {
  index: number;
  /** Parts in arrival order; adjacent text (or thought) parts are merged. */
  parts: JsonObject[];
  finishReason?: string;
  finishMessage?: string;
  safetyRatings?: unknown;
  /** thoughtSignatures that came on text parts or alone (function calls keep their own). */
  signatures: unknown[];
  /** Other candidate keys, last value seen. */
  other: JsonObject;
}

/** Everything gathered from the chunks. */
interface ResponseState {
  candidates: Map<number, CandidateState>;
  usageMetadata?: JsonObject;
  modelVersion?: string;
  responseId?: string;
  traceId?: string;
  promptFeedback?: JsonObject;
  errors: ErrorInfo[];
  /** Unknown response and wrapper keys, last value seen. */
  other: JsonObject;
  /** Chunks that were neither responses nor errors. */
  strays: unknown[];
}

const CANDIDATE_KEYS = new Set([
  "content",
  "finishReason",
  "finishMessage",
  "index",
  "safetyRatings",
]);
const RESPONSE_KEYS = new Set([
  "candidates",
  "usageMetadata",
  "modelVersion",
  "responseId",
  "promptFeedback",
]);
const WRAPPER_KEYS = new Set(["response", "traceId"]);

function newState(): ResponseState {
  return { candidates: new Map(), errors: [], other: {}, strays: [] };
}

const isTextPart = (p: JsonObject) =>
  typeof p.text === "string" && Object.keys(p).every((k) => k === "text" || k === "thought");

/**
 * Adds a chunk's part to a candidate: text continues the previous part of the same kind. A
 * thoughtSignature on a text part (or alone) is set aside, so it does not split the text.
 */
function addPart(cand: CandidateState, part: unknown): void {
  let p: JsonObject = isRecord(part) ? part : { "(not an object)": part };
  const type = partType(p);
  if (
    p.thoughtSignature !== undefined &&
    (type === "text" || type === "thought" || type === "thoughtSignature")
  ) {
    const { thoughtSignature, ...rest } = p;
    cand.signatures.push(thoughtSignature);
    if (Object.keys(rest).length === 0 || (isTextPart(rest) && rest.text === "")) return;
    p = rest;
  }
  const last = cand.parts[cand.parts.length - 1];
  if (
    last && isTextPart(p) && isTextPart(last) && (p.thought === true) === (last.thought === true)
  ) {
    cand.parts[cand.parts.length - 1] = { ...last, text: `${last.text}${p.text}` };
    return;
  }
  cand.parts.push({ ...p });
}

/** Applies one response chunk to the state. */
function applyChunk(state: ResponseState, resp: JsonObject, wrapper?: JsonObject): void {
  arr(resp.candidates).forEach((c, position) => {
    if (!isRecord(c)) {
      state.strays.push(c);
      return;
    }
    const index = num(c.index) ?? position;
    let cand = state.candidates.get(index);
    if (!cand) {
      cand = { index, parts: [], signatures: [], other: {} };
      state.candidates.set(index, cand);
    }
    const content = c.content;
    if (isRecord(content)) {
      if (Array.isArray(content.parts)) { for (const part of content.parts) addPart(cand, part); }
      else if (content.parts !== undefined) addPart(cand, { "(parts)": content.parts });
    } else if (content !== undefined) addPart(cand, { "(content)": content });
    if (c.finishReason !== undefined && c.finishReason !== null) {
      cand.finishReason = inlineValue(c.finishReason);
    }
    if (c.finishMessage !== undefined) cand.finishMessage = inlineValue(c.finishMessage);
    if (c.safetyRatings !== undefined) cand.safetyRatings = c.safetyRatings;
    Object.assign(cand.other, remainingKeys(c, CANDIDATE_KEYS));
  });
  if (isRecord(resp.usageMetadata)) state.usageMetadata = resp.usageMetadata;
  if (resp.modelVersion !== undefined) state.modelVersion = inlineValue(resp.modelVersion);
  if (resp.responseId !== undefined) state.responseId = inlineValue(resp.responseId);
  if (isRecord(resp.promptFeedback)) state.promptFeedback = resp.promptFeedback;
  Object.assign(state.other, remainingKeys(resp, RESPONSE_KEYS));
  if (wrapper) {
    if (wrapper.traceId !== undefined) state.traceId = inlineValue(wrapper.traceId);
    for (const [k, v] of Object.entries(remainingKeys(wrapper, WRAPPER_KEYS) ?? {})) {
      state.other[`(wrapper) ${k}`] = v;
    }
  }
}

/** The `usageMetadata` counts the usage line shows. */
const GEMINI_USAGE_SHOWN: ReadonlySet<string> = new Set([
  "promptTokenCount",
  "candidatesTokenCount",
  "thoughtsTokenCount",
  "toolUsePromptTokenCount",
  "totalTokenCount",
  "cachedContentTokenCount",
]);

/** Normalised usage of a `usageMetadata` object; undefined when it has no counts. */
export function usageFromMetadata(raw: unknown): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const prompt = num(raw.promptTokenCount);
  const candidates = num(raw.candidatesTokenCount);
  const thoughts = num(raw.thoughtsTokenCount);
  const toolUse = num(raw.toolUsePromptTokenCount);
  const total = num(raw.totalTokenCount);
  if ([prompt, candidates, thoughts, total].every((n) => n === undefined)) return undefined;
  // Tool-use prompt tokens are input the API added (e.g. search results): total = prompt +
  // toolUsePrompt + candidates + thoughts, so they belong in input for the line to add up.
  const input = (prompt ?? 0) + (toolUse ?? 0);
  const usage: Usage = {
    input,
    output: (candidates ?? 0) + (thoughts ?? 0),
    total: total ?? input + (candidates ?? 0) + (thoughts ?? 0),
  };
  if (toolUse !== undefined && toolUse > 0) usage.toolPrompt = toolUse;
  const cached = num(raw.cachedContentTokenCount);
  if (cached !== undefined && cached > 0) usage.cached = cached;
  if (thoughts !== undefined && thoughts > 0) usage.reasoning = thoughts;
  return usage;
}

/** A short label of what a chunk carries, e.g. "thought", "text + finishReason + usage". */
function chunkLabel(chunk: Chunk | undefined): string {
  if (!chunk) return "(not JSON)";
  if (chunk.kind === "error") return "error";
  if (chunk.kind === "other") return `(${Array.isArray(chunk.raw) ? "array" : typeof chunk.raw})`;
  const types: string[] = [];
  let finish = false;
  for (const c of arr(chunk.resp.candidates)) {
    if (!isRecord(c)) continue;
    const parts = isRecord(c.content) ? arr(c.content.parts) : [];
    for (const p of parts) {
      const t = partType(p);
      if (!types.includes(t)) types.push(t);
    }
    if (c.finishReason !== undefined && c.finishReason !== null) finish = true;
  }
  if (finish) types.push("finishReason");
  if (isRecord(chunk.resp.usageMetadata)) types.push("usage");
  if (isRecord(chunk.resp.promptFeedback)) types.push("promptFeedback");
  return types.length > 0 ? types.join(" + ") : "(no parts)";
}

// ---------------------------------------------------------------------------------------------
// Response: blocks

const SAFETY_REASONS = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
]);

function candidateLabel(state: ResponseState, cand: CandidateState): string {
  return state.candidates.size > 1 ? ` (candidate ${cand.index})` : "";
}

type PartKind = "text" | "thought" | "call" | "other";

function partKind(part: JsonObject): PartKind {
  if (typeof part.text === "string") return part.thought === true ? "thought" : "text";
  return "functionCall" in part ? "call" : "other";
}

function functionCallRows(state: ResponseState, cand: CandidateState, part: JsonObject): Block[] {
  const call = part.functionCall;
  if (!isRecord(call)) return [fields([["Name", "?"]]), code(prettyJson(call), "json")];
  const rows: [string, string][] = [["Name", str(call.name) ?? inlineValue(call.name ?? "?")]];
  if (call.id !== undefined) rows.push(["ID", inlineValue(call.id)]);
  if (state.candidates.size > 1) rows.push(["Candidate", String(cand.index)]);
  const rest = remainingKeys(call, new Set(["name", "id", "args"]));
  if (rest) rows.push(["Other keys", excerpt(compactJson(rest, 100), CELL)]);
  if (part.thoughtSignature !== undefined) {
    rows.push(["Thought signature", signatureNote(part.thoughtSignature)]);
  }
  const blocks: Block[] = [fields(rows)];
  if (call.args !== undefined) blocks.push(code(prettyJson(call.args), "json"));
  return blocks;
}

/** A list item for a part that is not plain text or a call (inline data, code, unknown). */
function otherPartItem(state: ResponseState, cand: CandidateState, part: JsonObject): string {
  const type = partType(part);
  // The text itself is under "Output text" / "Thoughts": list only the extra keys here.
  const cell = type === "text" || type === "thought"
    ? excerpt(compactJson(remainingKeys(part, knownPartKeys(type)), 60), CELL)
    : partCell(part);
  return `${type}${candidateLabel(state, cand)}: ${cell}`;
}

/**
 * Each candidate's parts in the order the model produced them: runs of thoughts, text
 * (joined as they came, like the SDK's `text`), function calls and other parts, each under
 * its heading, so a thought, a call and more text read as streamed.
 */
/**
 * Google Search grounding as citations: each grounding support (a segment of the answer) with
 * the web sources of its chunks; the metadata itself stays under "Other candidate fields".
 */
function groundingCitations(meta: unknown): unknown[] {
  if (!isRecord(meta)) return [];
  const chunks = arr(meta.groundingChunks);
  return arr(meta.groundingSupports).filter(isRecord).flatMap((support) => {
    const segment = isRecord(support.segment) ? support.segment : {};
    return arr(support.groundingChunkIndices).map((i) => {
      const chunk = typeof i === "number" ? chunks[i] : undefined;
      const source = isRecord(chunk)
        ? (isRecord(chunk.web) ? chunk.web : chunk.retrievedContext)
        : undefined;
      const src = isRecord(source) ? source : {};
      return {
        type: "grounding_support",
        cited_text: str(segment.text) ?? "",
        url: str(src.uri),
        title: str(src.title),
      };
    });
  });
}

function partBlocks(state: ResponseState): Block[] {
  const blocks: Block[] = [];
  for (const cand of state.candidates.values()) {
    const label = candidateLabel(state, cand);
    const parts = cand.parts;
    // Citations follow the candidate's parts (the segments index into its whole text).
    const after = citationBlocks(groundingCitations(cand.other.groundingMetadata));
    for (let i = 0; i < parts.length;) {
      const kind = partKind(parts[i]);
      let j = i + 1;
      while (j < parts.length && partKind(parts[j]) === kind) j++;
      const run = parts.slice(i, j);
      i = j;
      if (kind === "text" || kind === "thought") {
        const text = run.map((p) => p.text as string).join("");
        if (text !== "") {
          blocks.push(heading(`${kind === "thought" ? "Thoughts" : "Output text"}${label}`));
          blocks.push(code(text, "text"));
        }
        const extras = run.filter((p) => !isTextPart(p));
        if (extras.length > 0) {
          blocks.push(heading("Other parts"), {
            kind: "list",
            items: extras.map((p) => otherPartItem(state, cand, p)),
          });
        }
      } else if (kind === "call") {
        blocks.push(
          heading("Function calls"),
          ...run.flatMap((p) => functionCallRows(state, cand, p)),
        );
      } else {
        blocks.push(heading("Other parts"), {
          kind: "list",
          items: run.map((p) => otherPartItem(state, cand, p)),
        });
      }
    }
    blocks.push(...after);
  }
  return blocks;
}

/** Prompt feedback and safety ratings that blocked or flagged something. */
function safetyBlocks(state: ResponseState, problems: string[]): Block[] {
  const blocks: Block[] = [];
  const fb = state.promptFeedback;
  if (fb) {
    const rows: [string, string][] = [];
    if (fb.blockReason !== undefined) {
      rows.push(["Block reason", inlineValue(fb.blockReason)]);
      problems.push(`prompt blocked: ${inlineValue(fb.blockReason)}`);
    }
    if (fb.blockReasonMessage !== undefined) {
      rows.push(["Message", inlineValue(fb.blockReasonMessage)]);
    }
    blocks.push(heading("Prompt feedback"));
    if (rows.length > 0) blocks.push(fields(rows));
    const rest = remainingKeys(fb, new Set(["blockReason", "blockReasonMessage"]));
    if (rest) blocks.push(code(prettyJson(rest, 300), "json"));
  }
  for (const cand of state.candidates.values()) {
    const ratings = arr(cand.safetyRatings);
    const flagged = ratings.some((r) => isRecord(r) && r.blocked === true);
    if (!flagged && !SAFETY_REASONS.has(cand.finishReason ?? "")) continue;
    blocks.push(heading(`Safety ratings${candidateLabel(state, cand)}`));
    if (ratings.length === 0) {
      blocks.push(paragraph("(none reported)"));
      continue;
    }
    blocks.push({
      kind: "table",
      header: ["Category", "Probability", "Blocked"],
      rows: ratings.map((r) =>
        isRecord(r)
          ? [
            inlineValue(r.category ?? ""),
            inlineValue(r.probability ?? ""),
            r.blocked ? "yes" : "",
          ]
          : [excerpt(compactJson(r), CELL), "", ""]
      ),
    });
  }
  return blocks;
}

function finishText(state: ResponseState): string | undefined {
  const cands = [...state.candidates.values()].filter((c) => c.finishReason !== undefined);
  if (cands.length === 0) return undefined;
  if (state.candidates.size === 1) return cands[0].finishReason;
  return cands.map((c) => `${c.finishReason} (candidate ${c.index})`).join(", ");
}

/** Summary fields, errors, output, calls, other parts, safety and unknown fields. */
function stateBlocks(
  state: ResponseState,
  problems: string[],
): { blocks: Block[]; usage?: Usage } {
  const usage = usageFromMetadata(state.usageMetadata);
  const rows: [string, string][] = [];
  if (state.responseId !== undefined) rows.push(["Response ID", state.responseId]);
  if (state.modelVersion !== undefined) rows.push(["Model version", state.modelVersion]);
  if (state.traceId !== undefined) rows.push(["Trace ID", state.traceId]);
  const finish = finishText(state);
  if (finish !== undefined) rows.push(["Finish reason", finish]);
  for (const cand of state.candidates.values()) {
    if (cand.finishMessage !== undefined) {
      rows.push([`Finish message${candidateLabel(state, cand)}`, cand.finishMessage]);
    }
    if (cand.finishReason !== undefined && cand.finishReason !== "STOP") {
      const msg = cand.finishMessage ? `: ${cand.finishMessage}` : "";
      problems.push(
        excerpt(`finish reason ${cand.finishReason}${candidateLabel(state, cand)}${msg}`, CELL),
      );
    }
  }
  for (const cand of state.candidates.values()) {
    if (cand.signatures.length === 0) continue;
    rows.push([
      `Thought signatures${candidateLabel(state, cand)}`,
      cand.signatures.map(signatureNote).join(", "),
    ]);
  }
  if (usage) rows.push(["Usage", formatUsage(usage)]);
  const more = usageFieldsText(state.usageMetadata, GEMINI_USAGE_SHOWN);
  if (more) rows.push(["Usage fields", more]);
  for (const e of state.errors) problems.push(googleErrorLine(e));

  const blocks: Block[] = rows.length > 0 ? [fields(rows)] : [];
  blocks.push(
    ...errorsBlocks(state.errors, ["code", "status", "message"]),
    ...partBlocks(state),
    ...safetyBlocks(state, problems),
  );
  if (state.candidates.size === 0 && state.errors.length === 0 && !state.promptFeedback) {
    blocks.push(paragraph("(no candidates)"));
  }
  const candOther: JsonObject = {};
  for (const cand of state.candidates.values()) {
    for (const [k, v] of Object.entries(cand.other)) {
      candOther[state.candidates.size > 1 ? `candidate ${cand.index}: ${k}` : k] = v;
    }
  }
  if (Object.keys(candOther).length > 0) {
    blocks.push(heading("Other candidate fields"), code(prettyJson(candOther, 300), "json"));
  }
  if (Object.keys(state.other).length > 0) {
    blocks.push(heading("Other response fields"), code(prettyJson(state.other, 300), "json"));
  }
  if (state.strays.length > 0) {
    blocks.push(
      heading(`Unrecognised chunks (${state.strays.length})`),
      code(capText(state.strays.map((s) => compactJson(s, 300)).join("\n"), 8000).text, "json"),
    );
  }
  return usage ? { blocks, usage } : { blocks };
}

/** Applies every chunk; returns whether any had a candidate with a finishReason. */
function gather(state: ResponseState, chunks: (Chunk | undefined)[]): boolean {
  for (const chunk of chunks) {
    if (!chunk) continue;
    if (chunk.kind === "response") applyChunk(state, chunk.resp, chunk.wrapper);
    else if (chunk.kind === "error") state.errors.push(chunk.error);
    else state.strays.push(chunk.raw);
  }
  return [...state.candidates.values()].some((c) => c.finishReason !== undefined);
}

/** Adds the model version and response id the chunks named, for totals and conversations. */
function withIds(body: RenderedBody, state: ResponseState): RenderedBody {
  if (state.modelVersion !== undefined) body.model = state.modelVersion;
  if (state.responseId !== undefined) body.responseId = state.responseId;
  body.final = {
    candidates: [...state.candidates.values()].map((c) => ({
      index: c.index,
      content: { role: "model", parts: c.parts },
      finishReason: c.finishReason,
    })),
  };
  return body;
}

// ---------------------------------------------------------------------------------------------
// Response: SSE stream

interface ParsedEvent {
  type: string;
  chunk?: Chunk;
  raw: string;
  complete: boolean;
}

function parseEvent(ev: SseEvent): ParsedEvent {
  const value = sseJson(ev);
  const raw = sseRaw(ev);
  return {
    type: str(ev?.type) || "message",
    chunk: value === undefined ? undefined : classify(value, "error chunk"),
    raw,
    complete: endedWhole(ev, value, raw),
  };
}

function renderStream(events: SseEvent[], view?: ResponseView): RenderedBody {
  const parsed = events.map(parseEvent);
  const problems: string[] = [];
  const state = newState();
  const finished = gather(state, parsed.map((e) => e.chunk));
  const out = stateBlocks(state, problems);

  const last = parsed[parsed.length - 1];
  const lastDesc = last
    ? `${chunkLabel(last.chunk)}${last.complete ? "" : ", cut off mid-event"}`
    : "none";
  let truncated: string | undefined;
  if (!finished) truncated = `stream truncated: no finishReason (last chunk: ${lastDesc})`;
  else if (last && !last.complete) truncated = `stream truncated: last chunk cut off (${lastDesc})`;
  const cut = cutOffNote(
    out.blocks,
    truncated,
    "The output above the cut is shown as it arrived.",
  );
  const blocks = cut.blocks;
  problems.push(...cut.problems);
  if (!out.usage) problems.push("no usage reported");

  blocks.push(...sseEventsBlocks(
    parsed.map((e) => chunkLabel(e.chunk)),
    "Chunk content",
    eventsTitle(view),
  ));
  const others = [...new Set(parsed.map((e) => e.type))].filter((t) => t !== "message");
  if (others.length > 0) blocks.push(fields([["Event types", others.join(", ")]]));
  const nonJson = parsed.filter((e) => !e.chunk && e.complete);
  const notJson = nonJsonEventBlocks(nonJson, "JSON");
  blocks.push(...notJson.blocks);
  problems.push(...notJson.problems);
  if (last && !last.complete && !last.chunk) blocks.push(...cutOffEventBlocks(last.raw));
  return withIds(out.usage ? { blocks, usage: out.usage, problems } : { blocks, problems }, state);
}

// ---------------------------------------------------------------------------------------------
// Response: JSON body (one object, an array of chunks, or the text of a cut-off array)

/**
 * The complete top-level values of a JSON array, from text that may be cut off: for the
 * non-SSE streaming reply, written out piece by piece. `complete` is false when the closing
 * "]" never came. Undefined when the text does not start an array.
 */
export function parseJsonArrayPrefix(
  text: string,
): { items: unknown[]; complete: boolean } | undefined {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n && /[\s,]/.test(text[i])) i++;
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n && /\s/.test(text[i])) i++;
  if (text[i] !== "[") return undefined;
  i++;
  const items: unknown[] = [];
  for (;;) {
    skip();
    if (i >= n) return { items, complete: false };
    if (text[i] === "]") return { items, complete: true };
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break; // the array's own "]" after a scalar
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (c === "," && depth === 0) break;
    }
    if (depth > 0 || inString) return { items, complete: false };
    const value = tryParseJson(text.slice(start, i));
    if (!value.ok) return { items, complete: false };
    items.push(value.value);
  }
}

/** "429 RESOURCE_EXHAUSTED: message" of the first error, for the problem line. */
function apiErrorBlocks(errors: Chunk[], status: number): RenderedBody {
  const blocks: Block[] = [];
  const problems: string[] = [];
  for (const chunk of errors) {
    if (chunk.kind !== "error") continue;
    const e = chunk.error;
    const rows: [string, string][] = [["HTTP status", String(status)]];
    if (e.code !== undefined) rows.push(["Code", e.code]);
    if (e.status !== undefined) rows.push(["Status", e.status]);
    if (e.message !== undefined) rows.push(["Message", e.message]);
    blocks.push(heading("API error"), fields(rows));
    const extra = e.extra ?? remainingKeys(chunk.raw, new Set(["error"]));
    if (extra) blocks.push(code(prettyJson(chunk.raw), "json"));
    const what = [e.status, e.message].filter((x) => x !== undefined).join(": ");
    problems.push(excerpt(`API error ${status}: ${what || "(no message)"}`, CELL));
  }
  return { blocks, problems };
}

function renderChunks(
  values: unknown[],
  status: number,
  form: "object" | "array",
  cutOff: boolean,
): RenderedBody {
  const chunks = values.map((v) => classify(v, form === "array" ? "error chunk" : "API error"));
  if (chunks.length > 0 && chunks.every((c) => c.kind === "error")) {
    return apiErrorBlocks(chunks, status);
  }
  const problems: string[] = [];
  const state = newState();
  const finished = gather(state, chunks);
  const out = stateBlocks(state, problems);
  let blocks = out.blocks;
  if (form === "array") {
    const note = `${values.length} chunk${values.length === 1 ? "" : "s"} (JSON array stream)`;
    const at = blocks.findIndex((b) => b.kind === "fields");
    if (at === 0 && blocks[0].kind === "fields") blocks[0].rows.push(["Chunks", note]);
    else blocks.unshift(fields([["Chunks", note]]));
    const last = chunks[chunks.length - 1];
    const lastDesc = `${last ? chunkLabel(last) : "none"}${cutOff ? ", array cut off" : ""}`;
    let truncated: string | undefined;
    if (!finished) truncated = `stream truncated: no finishReason (last chunk: ${lastDesc})`;
    else if (cutOff) truncated = `stream truncated: JSON array cut off (last chunk: ${lastDesc})`;
    const cut = cutOffNote(blocks, truncated);
    blocks = cut.blocks;
    problems.push(...cut.problems);
  } else if (!finished && state.candidates.size > 0) {
    problems.push("no finishReason in the response");
  }
  if (!out.usage) problems.push("no usage reported");
  return withIds(out.usage ? { blocks, usage: out.usage, problems } : { blocks, problems }, state);
}

function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  if (view?.kind !== "plain" && Array.isArray(view?.events)) return renderStream(view.events, view);
  const body = view?.body;
  const status = num(view?.status) ?? 0;
  if (isRecord(body)) return renderChunks([body], status, "object", false);
  if (Array.isArray(body)) return renderChunks(body, status, "array", false);
  if (typeof body === "string") {
    const whole = tryParseJson(body);
    if (whole.ok && isRecord(whole.value)) {
      return renderChunks([whole.value], status, "object", false);
    }
    if (whole.ok && Array.isArray(whole.value)) {
      return renderChunks(whole.value, status, "array", false);
    }
    const prefix = parseJsonArrayPrefix(body);
    if (prefix && !prefix.complete) {
      const out = renderChunks(prefix.items, status, "array", true);
      const tail = body.length > 500 ? `…${body.slice(-500)}` : body;
      out.blocks.push(heading("End of the body (cut off)"), code(tail, "text"));
      return out;
    }
  }
  const blocks = nonObjectBody(body);
  return status >= 400
    ? { blocks, problems: [`HTTP ${status} with a body that is not a JSON error`] }
    : { blocks };
}

/**
 * `POST …:generateContent` or `…:streamGenerateContent` (any casing of the first letter), or a
 * body with a `contents` array, bare or in Code Assist's `request` wrapper.
 */
function detect(req: DetectInput): number {
  if (req.method !== "POST") return Confidence.none;
  if (/:(?:stream)?[gG]enerateContent$/.test(req.path)) return Confidence.endpoint;
  const body = req.body;
  if (!isRecord(body)) return Confidence.none;
  // `contents` is the most specific shape of all: ranked first.
  if (Array.isArray(body.contents)) return Confidence.shape + 3;
  if (isRecord(body.request) && Array.isArray(body.request.contents)) return Confidence.shape + 3;
  return Confidence.none;
}

/** The Google Gemini API renderer (Developer API, Vertex AI path shape, Code Assist wrapper). */
export const gemini: Renderer = {
  id: "gemini",
  name: "Google Gemini API",
  detect,
  renderRequest,
  renderResponse,
  requestParts,
};
