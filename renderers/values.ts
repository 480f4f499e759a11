/**
 * JSON values shown as text: compact and pretty JSON with long strings, opaque blobs and
 * credential fields shortened or masked, and one-line summaries of objects, lists and content.
 *
 * @module
 */

import { isRecord, type JsonObject, str } from "../lib/json.ts";
import { SECRET_MASK, secretFieldTest } from "../lib/redact.ts";
import { truncate } from "./text.ts";

/**
 * Keys whose string values are opaque blobs (encrypted reasoning, signatures): they are
 * shown as a short prefix and a length, whatever their size.
 */
export const OPAQUE_KEYS: ReadonlySet<string> = new Set([
  "encrypted_content",
  "signature",
  "thoughtSignature",
  "thought_signature",
]);

/** An opaque blob as a short prefix plus its length, e.g. "gAAAAABo3x… (4812 chars)". */
export function opaque(text: string, prefix = 10): string {
  if (text.length <= prefix + 2) return text;
  return `${text.slice(0, prefix)}… (${text.length} chars)`;
}

/**
 * A copy of a JSON value with credential fields masked (see {@link maskSecretFields}), every
 * string longer than `maxString` cut (with its full length
 * noted), opaque blobs ({@link OPAQUE_KEYS}, base64 `data:` URLs) reduced to a prefix, and
 * nesting deeper than 40 levels replaced by "[…]". Safe on any value.
 */
export function shortenStrings(value: unknown, maxString = 300): unknown {
  const walk = (v: unknown, key: string | undefined, depth: number): unknown => {
    if (typeof v === "string") {
      if ((key !== undefined && OPAQUE_KEYS.has(key)) || isBase64DataUrl(v)) {
        return opaque(v, key !== undefined && OPAQUE_KEYS.has(key) ? 10 : 40);
      }
      return v.length > maxString ? `${truncate(v, maxString)} (${v.length} chars)` : v;
    }
    if (typeof v !== "object" || v === null) return v;
    if (depth > 40) return "[…]";
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined, depth + 1));
    const secret = secretFieldTest(v);
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = secret(k, x) ? SECRET_MASK : walk(x, k, depth + 1);
    }
    return out;
  };
  return walk(value, undefined, 0);
}

function isBase64DataUrl(text: string): boolean {
  return text.length > 100 && /^data:[^,]{0,100};base64,/.test(text);
}

function stringify(value: unknown, indent?: number): string {
  try {
    const out = JSON.stringify(value, null, indent);
    return out === undefined ? String(value) : out;
  } catch {
    return String(value);
  }
}

/** One-line JSON of `value` with long strings shortened (see {@link shortenStrings}). */
export function compactJson(value: unknown, maxString = 300): string {
  return stringify(shortenStrings(value, maxString));
}

/** Indented JSON of `value` with long strings shortened (see {@link shortenStrings}). */
export function prettyJson(value: unknown, maxString = 2000): string {
  return stringify(shortenStrings(value, maxString), 2);
}

/**
 * A value for a label/value row: strings as they are, numbers and booleans as text, objects
 * and arrays as compact JSON.
 */
export function inlineValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  return compactJson(value, 100);
}

/**
 * Pretty-prints `text` when it parses as JSON (lang "json"), else returns it unchanged
 * (lang "text"). For tool-call arguments, which are JSON strings that may be cut off.
 */
export function jsonOrText(text: string): { text: string; lang: "json" | "text" } {
  if (text.trim() === "") return { text, lang: "text" };
  try {
    return { text: prettyJson(JSON.parse(text)), lang: "json" };
  } catch {
    return { text, lang: "text" };
  }
}

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * "effort: high, summary: auto" for an object, without the `skip` keys; nested objects that
 * hold only a `type` show as that type unless `collapseTypes` is false. Anything else as
 * {@link inlineValue}.
 */
export function objectSummary(
  value: unknown,
  skip: ReadonlySet<string> = NO_KEYS,
  collapseTypes = true,
): string {
  if (!isRecord(value)) return inlineValue(value);
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (skip.has(k)) continue;
    const typeOnly = collapseTypes && isRecord(v) && Object.keys(v).length === 1 &&
      typeof v.type === "string";
    out.push(`${k}: ${typeOnly ? v.type : inlineValue(v)}`);
  }
  return out.join(", ");
}

/** A string array as "a, b, c"; anything else as {@link inlineValue}. */
export function listValue(value: unknown): string {
  return Array.isArray(value) && value.every((v) => typeof v === "string")
    ? value.join(", ")
    : inlineValue(value);
}

/**
 * The reference of an image given by URL (`image_url` as a string or `{url}`): the URL, with a
 * base64 `data:` URL reduced to its type and length; "" when there is no URL.
 */
export function imageUrlText(imageUrl: unknown): string {
  const url = str(imageUrl) ?? (isRecord(imageUrl) ? str(imageUrl.url) : "");
  if (url && url.startsWith("data:")) {
    return `${url.slice(0, url.indexOf(",") + 1 || 40)}… (${url.length} chars)`;
  }
  return url || "";
}

/**
 * Text of a message's content: a string as it is, an array of parts as their non-empty
 * `partText`s joined by `separator`, null/absent as "", anything else as compact JSON.
 */
export function joinedText(
  content: unknown,
  partText: (part: unknown) => string,
  separator = " ",
): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const texts: string[] = [];
    for (const part of content) {
      const text = partText(part);
      if (text !== "") texts.push(text);
    }
    return texts.join(separator);
  }
  if (content === undefined || content === null) return "";
  return compactJson(content, 80);
}
