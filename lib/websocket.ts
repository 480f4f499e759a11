/**
 * WebSocket exchanges: the recorded messages of an entry classified into frames (JSON object,
 * other text, binary), and the server's JSON object frames as SSE-shaped events
 * (`{type, data, lastEventId: "", complete: true}`, JSON memoised), so the statistics count
 * their keys and a renderer reads them like a stream. What the frames mean (turns, requests)
 * is the business of the renderer of the API that speaks over the socket.
 *
 * Everything here is pure and never throws on odd input (a capture is untrusted text).
 *
 * @module
 */

import { base64Bytes } from "./base64.ts";
import { isRecord } from "./json.ts";
import { maskSplitMessages } from "./redact_split.ts";
import type {
  Entry,
  ResponseView,
  SseEvent,
  WebSocketMessage,
  WebSocketResponseView,
  WsFrame,
} from "./types.ts";

/** The entry's messages, when it is a WebSocket exchange with a message list. */
export function websocketMessages(entry: Entry): readonly WebSocketMessage[] | undefined {
  return Array.isArray(entry.websocket) ? entry.websocket : undefined;
}

/**
 * The messages with a key that their pieces split masked where a report shows them one by one,
 * as the capture masks it (a --keep-secrets capture holds it raw): the client's (turn requests,
 * "other frames"), and the server's before the client's first message (they belong to no
 * turn). The server's other frames are events, whose text reports show joined; reading them all
 * took the analysis of a 60,900-message socket from 0.33 to 0.55 s.
 */
function splitMasked(messages: readonly WebSocketMessage[]): readonly WebSocketMessage[] {
  const early = messages.findIndex((m) => isRecord(m) && m.from === "client");
  const server = early === -1 ? messages : messages.slice(0, early);
  const masked = maskSplitMessages(server, ["server"]);
  const all = masked === server ? messages : [...masked, ...messages.slice(server.length)];
  return maskSplitMessages(all, ["client"]);
}

/**
 * Classifies one recorded message; odd shapes become an empty text frame.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { classifyFrame } from "./websocket.ts";
 *
 * const frame = classifyFrame({ from: "server", t: 2, text: '{"type":"hello","n":1}' });
 * assert.equal(frame.type, "hello");
 * assert.deepEqual(frame.json, { type: "hello", n: 1 });
 * assert.equal(classifyFrame({ from: "client", t: 3, base64: "AAEC" }).binaryBytes, 3);
 * ```
 */
export function classifyFrame(message: unknown): WsFrame {
  const m = isRecord(message) ? message : {};
  const frame: WsFrame = {
    from: m.from === "client" ? "client" : "server",
    t: typeof m.t === "number" && Number.isFinite(m.t) ? m.t : NaN,
  };
  if (typeof m.text !== "string") {
    if (typeof m.base64 === "string") frame.binaryBytes = base64Bytes(m.base64);
    else frame.text = "";
    return frame;
  }
  frame.text = m.text;
  const c = m.text.trimStart().charCodeAt(0);
  if (c === 0x7b /* { */) {
    try {
      const value = JSON.parse(m.text);
      if (isRecord(value)) {
        frame.json = value;
        if (typeof value.type === "string") frame.type = value.type;
      }
    } catch {
      // not JSON: shown as text
    }
  }
  return frame;
}

/** An SSE-shaped event of a server JSON frame (its JSON memoised, see `eventJson`). */
export function frameEvent(frame: WsFrame): SseEvent {
  return {
    type: frame.type ?? "message",
    data: frame.text ?? "",
    lastEventId: "",
    complete: true,
    json: frame.json,
  };
}

/**
 * The response view of a WebSocket exchange: its frames, and as `events` all the server's JSON
 * object frames. Undefined when the entry has no message list.
 */
export function websocketView(
  response: Pick<ResponseView, "status" | "contentType" | "body">,
  entry: Entry,
): WebSocketResponseView | undefined {
  const messages = websocketMessages(entry);
  if (!messages) return undefined;
  const frames = splitMasked(messages).map(classifyFrame);
  const events: SseEvent[] = [];
  for (const frame of frames) {
    if (frame.from === "server" && frame.json) events.push(frameEvent(frame));
  }
  const { status, contentType, body } = response;
  return { kind: "websocket", status, contentType, body, frames, events };
}
