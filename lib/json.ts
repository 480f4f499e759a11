/**
 * Safe access to parsed JSON of unknown shape: a capture is untrusted text, so every reader
 * checks a value's type before using it. Nothing here throws.
 *
 * @module
 */

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
  // A key walk that allocates nothing when every key is shown: this runs for every message of
  // every resent history (Object.entries was half the cost of reading a request with a long history).
  let rest: JsonObject | undefined;
  for (const k in obj) {
    if (!shown.has(k)) (rest ??= {})[k] = obj[k];
  }
  return rest;
}

/**
 * A copy of a JSON value nested at most `maxDepth` levels: anything deeper becomes "[…]". For
 * showing a value whose depth is not known (`JSON.stringify` of a capture's 20,000-level array
 * overflows the stack).
 */
export function depthCapped(value: unknown, maxDepth = 64): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (depth >= maxDepth) return "[…]";
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0);
}
