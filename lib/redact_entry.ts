/**
 * An entry redacted for an output (HAR, OTLP): its own module so that the live OTLP export of a
 * capture redacts without loading the HAR writer.
 */
import { maskSecretFields, maskTextSecrets, redactUrl } from "./redact.ts";
import { maskSplitSecrets } from "./redact_split.ts";
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
  if (encoding === "base64") return body;
  if (typeof body === "string") return maskTextSecrets(maskSplitSecrets([body])[0]);
  if (Array.isArray(body)) {
    const text = JSON.stringify(body);
    const joined = maskSplitSecrets([text])[0];
    if (joined !== text) return maskSecretFields(JSON.parse(joined));
  }
  return maskSecretFields(body);
}

/** Messages with their secrets masked, each side's texts read in order as one stream. */
function maskMessages(messages: readonly WebSocketMessage[]): WebSocketMessage[] {
  const out = [...messages];
  for (const side of ["client", "server"]) {
    const at = messages.flatMap((m, i) => m.from === side && m.text !== undefined ? [i] : []);
    const texts = maskSplitSecrets(at.map((i) => messages[i].text as string));
    at.forEach((i, k) => out[i] = { ...messages[i], text: maskTextSecrets(texts[k]) });
  }
  return out;
}
