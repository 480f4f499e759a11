/**
 * The turns of the OpenAI Responses API over WebSocket (llm-stream-formats.md §2). A turn
 * starts with a client frame `{"type":"response.create", …}` and holds every frame up to the
 * next one; the server's JSON frames are its events, read exactly like an SSE stream of the
 * same API. The frames come classified from lib/websocket.ts.
 *
 * Everything here is pure and never throws on odd input (a capture is untrusted text).
 *
 * @module
 */

import { classifyFrame, frameEvent, websocketView } from "../lib/websocket.ts";
import type { Entry, ResponseView, SseEvent, WsFrame } from "../lib/types.ts";

/** The client frame type that starts a turn. */
export const TURN_START = "response.create";

/** Server frame types that end a turn: after one of them the response is settled. */
export const TURN_END: ReadonlySet<string> = new Set([
  "response.completed",
  "response.incomplete",
  "response.failed",
  "error",
]);

/** How a turn that never got a {@link TURN_END} frame ended. */
export type TurnCut =
  /** The socket closed first. */
  | "closed"
  /** The capture stopped while the socket was open. */
  | "capture stopped"
  /** The client sent the next `response.create` first. */
  | "superseded";

/** One turn: a `response.create` and what followed it. */
export interface WsTurn {
  /** 1-based; 0 holds the frames before the first `response.create` (when there are any). */
  number: number;
  /** The client's `response.create` frame (absent for turn 0). */
  request?: WsFrame;
  /** `generate: false`: a prewarm that produces no output. */
  prewarm: boolean;
  /** Every frame after the `response.create`, in order. */
  frames: WsFrame[];
  /** The server's JSON object frames, SSE-shaped, in order. */
  events: SseEvent[];
  /** Every other frame of the turn (acks, `response.append`, non-JSON text, binary), in order. */
  others: WsFrame[];
  /** A {@link TURN_END} frame arrived. */
  finished: boolean;
  /** Set when the turn never finished. */
  cut?: TurnCut;
  /**
   * Time of the first and last frame after the `response.create` (the reply), in seconds
   * since the epoch; NaN when there is none.
   */
  start: number;
  end: number;
}

/** Everything a report needs of one WebSocket exchange. */
export interface WsSession {
  turns: WsTurn[];
  /** Every server JSON object frame as an event, in order (the objects the turns hold). */
  events: SseEvent[];
  clientMessages: number;
  serverMessages: number;
  /** Time of the first and last message (NaN when there are none). */
  first: number;
  last: number;
}

function newTurn(number: number, request: WsFrame | undefined): WsTurn {
  return {
    number,
    ...(request ? { request } : {}),
    prewarm: request?.json?.generate === false,
    frames: [],
    events: [],
    others: [],
    finished: false,
    start: NaN,
    end: NaN,
  };
}

/**
 * Splits an entry's WebSocket messages into turns. `stopped` says the capture ended while the
 * socket was open (the entry is `incomplete`): a last turn cut off is then marked
 * "capture stopped" instead of "closed".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { websocketSession } from "./openai_ws_turns.ts";
 *
 * const s = websocketSession([
 *   { from: "client", t: 1, text: '{"type":"response.create","model":"m","input":"hi"}' },
 *   { from: "server", t: 2, text: '{"type":"response.created","response":{"id":"r1"}}' },
 *   { from: "server", t: 3, text: '{"type":"response.completed","response":{"id":"r1"}}' },
 * ]);
 * assert.equal(s.turns.length, 1);
 * assert.equal(s.turns[0].events.length, 2);
 * assert.equal(s.turns[0].finished, true);
 * ```
 */
export function websocketSession(messages: readonly unknown[], stopped = false): WsSession {
  return splitTurns(messages.map(classifyFrame), stopped);
}

/** {@link websocketSession} of frames already classified. */
export function splitTurns(frames: readonly WsFrame[], stopped = false): WsSession {
  const turns: WsTurn[] = [];
  const events: SseEvent[] = [];
  let clientMessages = 0;
  let serverMessages = 0;
  let current: WsTurn | undefined;
  let started = 0;
  let first = NaN;
  let last = NaN;
  for (const frame of frames) {
    if (Number.isFinite(frame.t)) {
      if (!(frame.t >= first)) first = frame.t;
      if (!(frame.t <= last)) last = frame.t;
    }
    if (frame.from === "client") {
      clientMessages++;
      if (frame.type === TURN_START) {
        if (current && !current.finished && current.number > 0) current.cut = "superseded";
        current = newTurn(++started, frame);
        turns.push(current);
        continue;
      }
    } else serverMessages++;
    if (!current) {
      current = newTurn(0, undefined);
      turns.push(current);
    }
    if (Number.isFinite(frame.t)) {
      if (!(current.start <= frame.t)) current.start = frame.t;
      if (!(current.end >= frame.t)) current.end = frame.t;
    }
    current.frames.push(frame);
    if (frame.from === "server" && frame.json) {
      const event = frameEvent(frame);
      current.events.push(event);
      events.push(event);
      if (frame.type !== undefined && TURN_END.has(frame.type)) current.finished = true;
    } else current.others.push(frame);
  }
  const tail = turns[turns.length - 1];
  if (tail && tail.number > 0 && !tail.finished) tail.cut = stopped ? "capture stopped" : "closed";
  return { turns, events, clientMessages, serverMessages, first, last };
}

/**
 * The turns of a WebSocket exchange, from the frames of its view (or of the entry, when the
 * view is not a WebSocket one); undefined when the entry has no message list.
 */
export function sessionOf(view: ResponseView, entry: Entry): WsSession | undefined {
  const frames = view.kind === "websocket" ? view.frames : websocketView(view, entry)?.frames;
  return frames ? splitTurns(frames, entry.incomplete === true) : undefined;
}
