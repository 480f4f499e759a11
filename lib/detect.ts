/**
 * Which renderer an entry belongs to. Each renderer recognises its own API (method, path,
 * request shape, content type) and says how sure it is; this module only asks the registry it
 * is handed and takes the surest answer, so a capture holding several APIs renders each entry
 * with its own renderer. Nothing here knows an API.
 *
 * @module
 */
import { getHeader } from "./headers.ts";
import { urlPath } from "./stats.ts";
import type { DetectInput, Entry, Renderer } from "./types.ts";

/**
 * How sure a renderer is that an entry speaks its API: the highest answer wins, ties go to the
 * registry's order. A renderer may add a little to a level to rank itself against another at
 * the same level (a more specific body shape before a looser one).
 */
export const Confidence = {
  /** Not this renderer's entry. */
  none: 0,
  /** Claims any entry: the renderer of last resort. */
  fallback: 1,
  /** The request body has this API's shape (a proxy or gateway renamed the path). */
  shape: 10,
  /** Method and path are this API's endpoint. */
  endpoint: 100,
} as const;

/** What renderers look at, computed once per entry. */
export function detectInput(entry: Entry): DetectInput {
  const { method, url, headers, body } = entry.request;
  return {
    method: String(method).toUpperCase(),
    path: urlPath(String(url)),
    body,
    headers: headers ?? {},
    websocket: entry.websocket !== undefined ||
      getHeader(headers ?? {}, "upgrade").toLowerCase() === "websocket",
    contentType: entry.response ? getHeader(entry.response.headers ?? {}, "content-type") : "",
    entry,
  };
}

/**
 * The renderer of `renderers` surest that `entry` is its API, or undefined when none claims it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Confidence, detectRenderer } from "./detect.ts";
 * import type { Renderer } from "./types.ts";
 *
 * const toy: Renderer = {
 *   id: "toy",
 *   name: "Toy API",
 *   detect: (req) => req.path === "/toy" ? Confidence.endpoint : Confidence.none,
 *   renderRequest: () => ({ blocks: [] }),
 *   renderResponse: () => ({ blocks: [] }),
 * };
 * const entry = {
 *   timestamp: 0,
 *   request: { method: "POST", url: "http://h/toy", headers: {}, body: {} },
 *   response: null,
 * };
 * assert.equal(detectRenderer([toy], entry)?.id, "toy");
 * ```
 */
export function detectRenderer(
  renderers: Iterable<Renderer>,
  entry: Entry,
): Renderer | undefined {
  const input = detectInput(entry);
  let best: Renderer | undefined;
  let bestScore: number = Confidence.none;
  for (const r of renderers) {
    const score = r.detect?.(input) ?? Confidence.none;
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}
