/**
 * The Gemini response as chunks: each JSON value of the body or SSE data line classified
 * (a response, unwrapped from Code Assist's `{response, traceId}`, an error, or other) and
 * applied to one state, whose candidates gather the parts (texts concatenated, never
 * replaced), finish reasons, safety ratings and the last usage seen.
 */
import { arr, isRecord, type JsonObject, num, remainingKeys } from "../lib/json.ts";
import type { Usage } from "../lib/types.ts";
import { type ErrorInfo, googleErrorInfo } from "./errors.ts";
import { partType } from "./gemini_parts.ts";
import { inlineValue } from "./values.ts";

/** What one chunk (a JSON value from the body or an SSE data line) turned out to be. */
export type Chunk =
  | { kind: "response"; resp: JsonObject; wrapper?: JsonObject }
  | { kind: "error"; error: ErrorInfo; raw: JsonObject }
  | { kind: "other"; raw: unknown };

/** Unwraps a Code Assist chunk (`{response, traceId}`) and spots error objects. */
export function classify(value: unknown, source: string): Chunk {
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
export interface CandidateState {
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
export interface ResponseState {
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

export function newState(): ResponseState {
  return { candidates: new Map(), errors: [], other: {}, strays: [] };
}

export const isTextPart = (p: JsonObject) =>
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
export function applyChunk(state: ResponseState, resp: JsonObject, wrapper?: JsonObject): void {
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
export const GEMINI_USAGE_SHOWN: ReadonlySet<string> = new Set([
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
export function chunkLabel(chunk: Chunk | undefined): string {
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

/** Applies every chunk; returns whether any had a candidate with a finishReason. */
export function gather(state: ResponseState, chunks: (Chunk | undefined)[]): boolean {
  for (const chunk of chunks) {
    if (!chunk) continue;
    if (chunk.kind === "response") applyChunk(state, chunk.resp, chunk.wrapper);
    else if (chunk.kind === "error") state.errors.push(chunk.error);
    else state.strays.push(chunk.raw);
  }
  return [...state.candidates.values()].some((c) => c.finishReason !== undefined);
}
