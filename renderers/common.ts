/**
 * Helpers shared by the tier-2 renderers: safe access to untyped JSON, text shortening for
 * table cells and code blocks, compact JSON, JSON-Schema parameter summaries and the usage
 * line. Everything here is pure and never throws on odd input. Nothing here escapes Markdown:
 * the report writer does that.
 */

import type { Usage } from "../lib/types.ts";

/** A parsed JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object: not null, not an array. */
export function isRecord(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value when it is a string, else `undefined`. */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The value when it is a finite number, else `undefined`. */
export function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The value when it is an array, else an empty array. */
export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Length of `text` in Unicode code points (what a reader calls "characters"). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Cuts `text` to at most `max` UTF-16 units and appends "…" when it was longer. Never splits
 * a surrogate pair.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}

/**
 * Puts `text` on one line: each line break (with the blanks around it) becomes " ⏎ ", and tabs
 * and other control characters become spaces.
 */
export function oneLine(text: string): string {
  return text
    .replace(/[ \t]*(?:\r\n|\r|\n)[ \t]*/g, " ⏎ ")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ");
}

/** A short single-line excerpt for a table cell: trimmed, one line, at most `max` units. */
export function excerpt(text: string, max = 200): string {
  return truncate(oneLine(text.trim()), max);
}

/**
 * The first non-empty line of `text`, shortened to `max` units; "…" marks that something was
 * left out (the rest of the line or later lines).
 */
export function firstLine(text: string, max = 120): string {
  const trimmed = text.trim();
  const line = trimmed.split(/\r\n|\r|\n/, 1)[0].trim();
  const cut = truncate(line, max);
  return cut === line && line.length < trimmed.length ? `${line} …` : cut;
}

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
 * A copy of a JSON value with every string longer than `maxString` cut (with its full length
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
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, k, depth + 1);
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

/** Default cap for big text bodies shown in a code block. */
export const MAX_BODY_TEXT = 20_000;

/**
 * Cuts a big text for a code block. `note` says what was left out ("showing the first 20000
 * of 51234 characters") and is undefined when nothing was cut.
 */
export function capText(
  text: string,
  max = MAX_BODY_TEXT,
): { text: string; note?: string } {
  if (text.length <= max) return { text };
  return {
    text: truncate(text, max),
    note: `Showing the first ${max} of ${text.length} characters.`,
  };
}

/**
 * Names of the parameters of a JSON Schema object, required ones marked with "*", e.g.
 * "path*, content*, mode". Empty when the schema has no `properties`.
 */
export function paramSummary(schema: unknown): string {
  if (!isRecord(schema) || !isRecord(schema.properties)) return "";
  const required = new Set(arr(schema.required).filter((r) => typeof r === "string"));
  return Object.keys(schema.properties)
    .map((name) => (required.has(name) ? `${name}*` : name))
    .join(", ");
}

/** Counts of `keys` in first-seen order. */
export function countInOrder(keys: Iterable<string>): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts];
}

/**
 * The usage line of the report: "245 input | 89 output | 334 total", followed by
 * " | N cached", " | N cache write" and " | N reasoning" only for counts above zero.
 */
export function formatUsage(usage: Usage): string {
  const parts = [`${usage.input} input`, `${usage.output} output`, `${usage.total} total`];
  if ((usage.cached ?? 0) > 0) parts.push(`${usage.cached} cached`);
  if ((usage.cacheWrite ?? 0) > 0) parts.push(`${usage.cacheWrite} cache write`);
  if ((usage.reasoning ?? 0) > 0) parts.push(`${usage.reasoning} reasoning`);
  return parts.join(" | ");
}

/** Parses JSON without throwing: `{ok:false}` when `text` is not JSON. */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The entries of `obj` whose keys are not in `shown`, or undefined when there are none. */
export function remainingKeys(
  obj: JsonObject,
  shown: ReadonlySet<string>,
): JsonObject | undefined {
  const rest: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(obj)) {
    if (shown.has(k)) continue;
    rest[k] = v;
    any = true;
  }
  return any ? rest : undefined;
}
