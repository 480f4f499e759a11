/**
 * An entry redacted for an output (HAR, OTLP): its own module so that the live OTLP export of a
 * capture redacts without loading the HAR writer.
 */
import { maskSecretFields, maskTextSecrets, plainFirst, redactUrl } from "./redact.ts";
import {
  maskSplitJson,
  maskSplitMessages,
  maskSplitSecrets,
  maskStreamText,
} from "./redact_split.ts";
import type { Entry, Headers, WebSocketMessage } from "./types.ts";

/**
 * The entry as the report shows it: secret headers, URL query parameters, credential fields
 * of JSON, form and SSE bodies and of WebSocket messages, and key shapes anywhere masked (they
 * are raw in a `--keep-secrets` capture).
 */
export function redactEntry(entry: Entry, redactHeaders: (h: Headers) => Headers): Entry {
  return {
    ...entry,
    request: {
      ...entry.request,
      url: redactUrl(entry.request.url),
      headers: redactHeaders(entry.request.headers),
      body: maskBody(entry.request.body, entry.request.body_encoding),
    },
    response: entry.response
      ? {
        ...entry.response,
        headers: redactHeaders(entry.response.headers),
        body: maskBody(entry.response.body, entry.response.body_encoding),
      }
      : null,
    ...(entry.websocket && { websocket: maskMessages(entry.websocket) }),
  };
}

/**
 * A body with its secrets masked: a stream's text (SSE, or a JSON array of chunks) first as
 * its pieces read together, see {@link maskSplitSecrets}.
 */
function maskBody(body: unknown, encoding: string | undefined): unknown {
  if (encoding === "base64") return typeof body === "string" ? maskBase64(body) : body;
  if (typeof body === "string") return maskStreamText(body);
  return maskSecretFields(maskSplitJson(body));
}

/**
 * A body or message kept as base64 (not UTF-8) masked in its bytes as the capture masks them,
 * and as a text body is ({@link maskStreamText}: an SSE stream's events read joined, JSON, a
 * form's secret pairs, key shapes). `atob` gives one character a byte and `btoa` takes them
 * back; every mask is ASCII.
 */
function maskBase64(data: string): string {
  let text: string;
  try {
    text = atob(data);
  } catch {
    return data;
  }
  const masked = maskStreamText(text);
  if (masked === text) return data;
  // JSON that was re-encoded writes a character its `\u` escapes made as it is; as an escape
  // again, it fits a byte.
  return btoa(
    masked.replace(
      /[\u0100-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
  );
}

/** Between one side's WebSocket texts while they are masked: UTF-8 never holds a lone surrogate. */
const SEPARATOR = "\ud800";

/** Messages with their secrets masked, each side's texts read in order as one stream. */
function maskMessages(messages: readonly WebSocketMessage[]): WebSocketMessage[] {
  return maskSplitMessages(messages, ["client", "server"], maskSide)
    .map((m) => m.base64 === undefined ? m : { ...m, base64: maskBase64(m.base64) });
}

/**
 * One side's texts, masked in order: joined by a separator no text holds, so that a key or
 * name written with escapes is read plain ({@link plainFirst}) the same way as a body's.
 */
function maskSide(raw: readonly string[]): readonly string[] {
  const mask = (texts: readonly string[]) => maskSplitSecrets(texts).map(maskTextSecrets);
  return raw.some((t) => t.includes(SEPARATOR))
    ? mask(raw)
    : plainFirst(raw.join(SEPARATOR), (t) => mask(t.split(SEPARATOR)).join(SEPARATOR))
      .split(SEPARATOR);
}
