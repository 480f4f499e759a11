/**
 * Small helpers the renderers' `requestFacts` share: the analysis model's view of a request
 * (lib/types.ts `RequestFacts`), built from the raw JSON without rendering anything.
 */
import { isRecord, str } from "../lib/json.ts";
import type { FactItem } from "../lib/types.ts";

export { isRecord as isObj, str as strOf };

/** JSON text of a value with `cache_control` left out (a cache marker is not content). */
export function keyOf(value: unknown): string {
  // A replacer takes JSON.stringify off its fast path (three times slower, for every item of
  // every request): used only for the few values that hold a marker.
  const text = JSON.stringify(value) ?? "null";
  if (!text.includes('"cache_control":')) return text;
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

/**
 * A unit of a request whose `key` (the JSON text of its identity, see {@link keyOf}) is built
 * only when read, with `raw`, the value it is: the analysis model compares a unit with the
 * previous request's by value and reads the key only of those that changed.
 */
class Keyed {
  #raw: unknown;
  #identity: unknown;
  #key: string | undefined;

  constructor(raw: unknown, identity: unknown) {
    this.#raw = raw;
    this.#identity = identity;
  }

  get raw(): unknown {
    return this.#raw;
  }

  get key(): string {
    return this.#key ??= keyOf(this.#identity);
  }
}

/** `fields` as a unit of a request whose value is `raw` (see {@link Keyed}). */
export function keyed<T extends object>(
  fields: T,
  raw: unknown,
  identity: unknown = raw,
): T & { readonly key: string; readonly raw: unknown } {
  return Object.assign(new Keyed(raw, identity), fields);
}

/** A fact item with its key taken from `raw` (see {@link keyed}). */
export function fact(
  role: string,
  kind: FactItem["kind"],
  text: string,
  raw: unknown,
  extra: { name?: string; callId?: string } = {},
): FactItem {
  const fields: Omit<FactItem, "key"> = { role, kind, text };
  if (extra.name !== undefined) fields.name = extra.name;
  if (extra.callId !== undefined) fields.callId = extra.callId;
  return keyed(fields, raw, { role, raw });
}
