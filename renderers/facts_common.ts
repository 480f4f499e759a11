/**
 * Small helpers the renderers' `requestFacts` share: the analysis model's view of a request
 * (lib/types.ts `RequestFacts`), built from the raw JSON without rendering anything.
 */
import { isRecord, str } from "../lib/json.ts";
import type { FactItem } from "../lib/types.ts";

export { isRecord as isObj, str as strOf };

/** JSON text of a value with `cache_control` left out (a cache marker is not content). */
export function keyOf(value: unknown): string {
  return JSON.stringify(value, (k, v) => k === "cache_control" ? undefined : v) ?? "null";
}

/** Text of a content value: a string, or the text parts of an array of parts joined. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) =>
      typeof p === "string" ? p : isRecord(p) && typeof p.text === "string" ? p.text : keyOf(p)
    ).join("\n");
  }
  if (content === undefined || content === null) return "";
  return keyOf(content);
}

/** A fact item with its key taken from `raw`. */
export function fact(
  role: string,
  kind: FactItem["kind"],
  text: string,
  raw: unknown,
  extra: { name?: string; callId?: string } = {},
): FactItem {
  const item: FactItem = { role, kind, text, key: keyOf({ role, raw }) };
  if (extra.name !== undefined) item.name = extra.name;
  if (extra.callId !== undefined) item.callId = extra.callId;
  return item;
}
