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
import { isRecord } from "../lib/json.ts";
import type { DetectInput, Renderer } from "../lib/types.ts";
import { renderRequest, requestParts } from "./gemini_request.ts";
import { renderResponse } from "./gemini_response.ts";

export { modelFromUrl } from "./gemini_request.ts";
export { usageFromMetadata } from "./gemini_chunks.ts";
export { parseJsonArrayPrefix } from "./gemini_response.ts";

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
