/**
 * The response as renderers get it, built once per entry: SSE bodies parsed, WebSocket
 * messages classified into frames. Its own module so that writers other than the report (OTLP)
 * use it without loading the report code.
 */
import { getHeader } from "./headers.ts";
import { looksLikeSse, parseSse } from "./sse.ts";
import type { Entry, ResponseView } from "./types.ts";
import { websocketView } from "./websocket.ts";

/** Builds the view renderers get of a response: SSE bodies are parsed exactly once, here. */
export function responseView(entry: Entry): ResponseView | undefined {
  const res = entry.response;
  if (!res) return undefined;
  const contentType = getHeader(res.headers, "content-type");
  const base = { status: res.status_code, contentType, body: res.body };
  // A WebSocket exchange: its messages classified, server JSON frames as events (websocket.ts).
  if (entry.websocket) {
    const ws = websocketView(base, entry);
    if (ws) return ws;
  }
  if (typeof res.body === "string" && res.body_encoding !== "base64") {
    // The content type alone does not make a stream: a proxy's error page or a JSON error
    // sent as text/event-stream is shown as the text it is. An empty body is an empty stream.
    const isSse = contentType.includes("text/event-stream")
      ? res.body === "" || looksLikeSse(res.body)
      : !contentType.includes("json") && looksLikeSse(res.body);
    if (isSse) return { kind: "sse", ...base, events: parseSse(res.body) };
  }
  return { kind: "plain", ...base };
}
