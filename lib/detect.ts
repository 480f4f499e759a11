/**
 * Which API format an exchange speaks, from its method, path (host and query ignored), request
 * shape and response content: so one capture holding several APIs renders each entry right.
 * Returns a renderer id; the caller falls back to the target's renderer for ids it lacks.
 */
import { getHeader } from "./headers.ts";
import { urlPath } from "./stats.ts";
import type { Entry } from "./types.ts";

export const FORMAT_RESPONSES = "openai_responses";
export const FORMAT_CHAT = "openai_chat";
export const FORMAT_ANTHROPIC = "anthropic_messages";
export const FORMAT_GEMINI = "gemini";
/** Not a model turn: model lists, token counts, telemetry, health checks, OAuth. */
export const FORMAT_GENERIC = "generic";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The format of one entry (see the table in the module docs of the README). */
export function detectFormat(entry: Entry): string {
  const { method, url, headers } = entry.request;
  const body = entry.request.body;
  const path = urlPath(url);
  const upper = method.toUpperCase();

  if (upper === "GET" && /\/responses$/.test(path) && isWebSocket(entry)) return FORMAT_RESPONSES;
  if (upper === "POST") {
    if (/\/responses(?:\/compact)?$/.test(path)) return FORMAT_RESPONSES;
    if (/\/chat\/completions$/.test(path)) return FORMAT_CHAT;
    if (/\/messages$/.test(path) && !/count_tokens$/.test(path)) return FORMAT_ANTHROPIC;
    if (/:(?:stream)?[gG]enerateContent$/.test(path)) return FORMAT_GEMINI;
    // Claude on Vertex AI: the Messages body (with anthropic_version) at rawPredict.
    if (/\/publishers\/anthropic\/models\/[^/]+:(?:stream)?[rR]awPredict$/.test(path)) {
      return FORMAT_ANTHROPIC;
    }
  }
  if (upper !== "POST" || !isObject(body)) return FORMAT_GENERIC;
  if (/count_?[tT]okens$|:countTokens$/.test(path)) return FORMAT_GENERIC;

  // Unknown path (a proxy or gateway renamed it): decide by body shape.
  if (Array.isArray(body.contents)) return FORMAT_GEMINI;
  if (isObject(body.request) && Array.isArray(body.request.contents)) return FORMAT_GEMINI;
  if ("input" in body || typeof body.instructions === "string") return FORMAT_RESPONSES;
  if (Array.isArray(body.messages)) {
    if (typeof body.anthropic_version === "string") return FORMAT_ANTHROPIC;
    if (
      ("max_tokens" in body && "system" in body) || getHeader(headers, "anthropic-version") ||
      hasAnthropicBlocks(body.messages)
    ) return FORMAT_ANTHROPIC;
    return FORMAT_CHAT;
  }
  return FORMAT_GENERIC;
}

function isWebSocket(entry: Entry): boolean {
  return entry.websocket !== undefined ||
    getHeader(entry.request.headers, "upgrade").toLowerCase() === "websocket";
}

function hasAnthropicBlocks(messages: unknown[]): boolean {
  for (const m of messages) {
    if (!isObject(m) || !Array.isArray(m.content)) continue;
    for (const block of m.content) {
      if (isObject(block) && (block.type === "tool_use" || block.type === "tool_result")) {
        return true;
      }
    }
  }
  return false;
}
