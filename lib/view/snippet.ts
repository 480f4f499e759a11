/**
 * The line a search hit shows: the words around the first match in an exchange's readable
 * text (its URL and the string values of its request and response bodies), taken from the
 * entry redacted as everything else the viewer sends (lib/redact_entry.ts). A match only in
 * headers or in JSON keys has no snippet.
 */
import { maskKeyShapes } from "../redact.ts";
import type { Entry } from "../types.ts";

export interface Snippet {
  /** Text before the match, the match, and after it (whitespace collapsed). */
  before: string;
  match: string;
  after: string;
}

/** Characters of context either side of the match. */
const CONTEXT = 70;

/** Fields that name a format's parts (`"type": "input_text"`), not what was said. */
const LABELS = new Set(["type", "role", "object", "status", "id", "model", "call_id"]);

/** Every string value of a JSON value, in order, but those of fields named in `skip`. */
export function stringValues(
  value: unknown,
  out: string[] = [],
  skip: ReadonlySet<string> = new Set(),
  depth = 0,
): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) { for (const v of value) stringValues(v, out, skip, depth + 1); }
  else if (typeof value === "object" && value !== null && depth < 40) {
    for (const [k, v] of Object.entries(value)) {
      if (!skip.has(k)) stringValues(v, out, skip, depth + 1);
    }
  }
  return out;
}

/** `redacted`: the entry as redactEntry returns it; `needle` in lower case, as matched. */
export function searchSnippet(redacted: Entry, needle: string): Snippet | null {
  const parts = [redacted.request.url];
  stringValues(redacted.request.body, parts, LABELS);
  if (redacted.response && redacted.response.body_encoding !== "base64") {
    stringValues(redacted.response.body, parts, LABELS);
  }
  const text = maskKeyShapes(parts.join("\n")).replace(/\s+/g, " ");
  if (needle === "") return null;
  // Found in the text itself, case-insensitively: an index into its lowercase copy could be
  // off where lowercasing changes a character's length ("İ" is two in lower case).
  const found = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "iu").exec(text);
  if (!found) return null;
  const at = found.index;
  const end = at + found[0].length;
  const from = Math.max(0, at - CONTEXT);
  const to = Math.min(text.length, end + CONTEXT);
  return {
    before: (from > 0 ? "…" : "") + text.slice(from, at),
    match: text.slice(at, end),
    after: text.slice(end, to) + (to < text.length ? "…" : ""),
  };
}
