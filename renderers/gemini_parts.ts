/**
 * Parts of a Gemini `Content` (text, thought, function call and response, inline and file
 * data, code), shared by the request's contents and the response's candidates: their type, a
 * table cell, and the full text where a part has one.
 */
import { base64Bytes } from "../lib/base64.ts";
import { isRecord, type JsonObject, remainingKeys, str } from "../lib/json.ts";
import { excerpt } from "./text.ts";
import { compactJson } from "./values.ts";

/** Length of a table cell excerpt. */
export const CELL = 200;

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
export function partType(part: unknown): string {
  if (!isRecord(part)) return Array.isArray(part) ? "(array)" : `(${typeof part})`;
  for (const kind of PART_KINDS) {
    if (kind in part) return kind === "text" && part.thought === true ? "thought" : kind;
  }
  if ("thoughtSignature" in part) return "thoughtSignature";
  return Object.keys(part)[0] ?? "(empty part)";
}

/** Keys read by {@link partCell} for a part of type `type` (the rest is shown raw). */
export function knownPartKeys(type: string): Set<string> {
  const keys = new Set(["thoughtSignature", "thought"]);
  keys.add(type === "thought" ? "text" : type);
  return keys;
}

function idNote(obj: JsonObject): string {
  const id = str(obj.id);
  return id ? ` [${id}]` : "";
}

/** The response of a functionResponse: the Gemini CLI's `{output}` shown as its text. */
export function functionResponseText(response: unknown): string {
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
export function partCell(part: unknown): string {
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

export function signatureNote(sig: unknown): string {
  return typeof sig === "string"
    ? `[thoughtSignature ${sig.length} chars]`
    : `[thoughtSignature ${compactJson(sig, 40)}]`;
}
