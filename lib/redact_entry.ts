/**
 * An entry redacted for an output (HAR, OTLP): its own module so that the live OTLP export of a
 * capture redacts without loading the HAR writer.
 */
import { maskSecretFields, maskTextSecrets, redactUrl } from "./redact.ts";
import type { Entry, Headers } from "./types.ts";

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
    ...(entry.websocket && {
      websocket: entry.websocket.map((m) =>
        m.text === undefined ? m : { ...m, text: maskTextSecrets(m.text) }
      ),
    }),
  };
}

function maskBody(body: unknown, encoding: string | undefined): unknown {
  if (encoding === "base64") return body;
  if (typeof body === "string") return maskTextSecrets(body);
  return maskSecretFields(body);
}
