/**
 * Server-sent events (WHATWG HTML §9.2.5–9.2.6): one line-processing state machine
 * ({@link SseLineParser}) shared by the whole-string hot path ({@link parseSse}) and the
 * streaming wrappers ({@link SseParserStream}, {@link SseDecoderStream}).
 *
 * Departure from the spec, on purpose: a tail that ends without the dispatching blank line is
 * still emitted, with `complete: false`, because a cut-off stream is what the user wants to see.
 *
 * @module
 */

import type { SseEvent } from "./types.ts";

export type { SseEvent };

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const BOM = 0xfeff;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Field kinds the parser acts on; every other field name is ignored. */
const enum Field {
  None,
  Data,
  Event,
  Id,
  Retry,
}

/**
 * `field` if the line `text[start, end)` starts with the field name `name` followed by a colon
 * or the end of the line, else {@link Field.None}.
 */
function named(text: string, start: number, end: number, name: string, field: Field): Field {
  const after = start + name.length;
  return after <= end && text.startsWith(name, start) &&
      (after === end || text.charCodeAt(after) === COLON)
    ? field
    : Field.None;
}

/**
 * Classifies the non-empty, non-comment line `text[start, end)` by its field name
 * (case-sensitive, not trimmed), without slicing the line.
 */
function fieldOf(text: string, start: number, end: number): Field {
  switch (text.charCodeAt(start)) {
    case 0x64: // d
      return named(text, start, end, "data", Field.Data);
    case 0x65: // e
      return named(text, start, end, "event", Field.Event);
    case 0x69: // i
      return named(text, start, end, "id", Field.Id);
    case 0x72: // r
      return named(text, start, end, "retry", Field.Retry);
    default:
      return Field.None;
  }
}

const NAME_LENGTH: Record<Field, number> = {
  [Field.None]: 0,
  [Field.Data]: 4,
  [Field.Event]: 5,
  [Field.Id]: 2,
  [Field.Retry]: 5,
};

/**
 * The SSE line-processing state machine: feed it decoded text in chunks split anywhere with
 * {@link SseLineParser.push}, then call {@link SseLineParser.end} once at end of input.
 *
 * It strips one U+FEFF at the very start of the input, treats CRLF, LF and lone CR as line
 * ends (a CRLF split across two chunks is one line end) and emits each event as soon as its
 * blank line arrives. `end()` emits a pending event that never got its blank line with
 * `complete: false`, then resets the parser so it can be reused for another stream.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseLineParser } from "./sse.ts";
 *
 * const parser = new SseLineParser();
 * assert.deepEqual(parser.push("data: a\r"), []);
 * assert.deepEqual(parser.push("\n\r\ndata: b"), [
 *   { type: "message", data: "a", lastEventId: "", complete: true },
 * ]);
 * assert.deepEqual(parser.end(), [
 *   { type: "message", data: "b", lastEventId: "", complete: false },
 * ]);
 * ```
 */
export class SseLineParser {
  /** Start of an unterminated line carried over from earlier chunks. */
  #partial = "";
  /** The previous chunk ended with CR: an LF at the start of the next chunk belongs to it. */
  #skipLF = false;
  /** A non-empty chunk has been seen (so the BOM check is done). */
  #started = false;
  /** Data buffer, without the trailing "\n" the spec appends to every data line. */
  #data = "";
  /** At least one `data` line since the last dispatch (the spec's data buffer is non-empty). */
  #hasData = false;
  #type = "";
  #lastEventId = "";
  #retry: number | undefined = undefined;

  /**
   * Processes one chunk of decoded text. Events it completes are appended to `out`, which is
   * returned (a new array when omitted).
   */
  push(chunk: string, out: SseEvent[] = []): SseEvent[] {
    const len = chunk.length;
    if (len === 0) return out;
    let pos = 0;
    if (!this.#started) {
      this.#started = true;
      if (chunk.charCodeAt(0) === BOM) pos = 1;
    }
    if (this.#skipLF) {
      this.#skipLF = false;
      if (chunk.charCodeAt(pos) === LF) pos++;
    }
    let lf = chunk.indexOf("\n", pos);
    let cr = chunk.indexOf("\r", pos);
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
        lf = chunk.indexOf("\n", next);
      } else {
        end = cr;
        next = cr + 1;
        if (next === len) {
          this.#skipLF = true;
        } else if (chunk.charCodeAt(next) === LF) {
          next++;
          lf = chunk.indexOf("\n", next);
        }
        cr = chunk.indexOf("\r", next);
      }
      if (this.#partial === "") {
        this.#line(chunk, pos, end, out);
      } else {
        const line = this.#partial + chunk.slice(pos, end);
        this.#partial = "";
        this.#line(line, 0, line.length, out);
      }
      pos = next;
    }
    if (pos < len) this.#partial += pos === 0 ? chunk : chunk.slice(pos);
    return out;
  }

  /**
   * Ends the input: processes an unterminated last line, emits a pending event that has data
   * with `complete: false` (a pending block without data emits nothing), and resets the parser.
   */
  end(out: SseEvent[] = []): SseEvent[] {
    const line = this.#partial;
    if (line !== "") this.#line(line, 0, line.length, out);
    if (this.#hasData) this.#emit(out, false);
    this.#partial = "";
    this.#skipLF = false;
    this.#started = false;
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
    this.#lastEventId = "";
    this.#retry = undefined;
    return out;
  }

  /** Processes the line `text[start, end)` (terminator excluded). */
  #line(text: string, start: number, end: number, out: SseEvent[]): void {
    if (start === end) {
      if (this.#hasData) this.#emit(out, true);
      this.#data = "";
      this.#hasData = false;
      this.#type = "";
      this.#retry = undefined;
      return;
    }
    const field = fieldOf(text, start, end);
    if (field === Field.None) return; // comments (":" first) and unknown fields
    let from = start + NAME_LENGTH[field] + 1; // past the colon
    if (from < end && text.charCodeAt(from) === SPACE) from++;
    if (from > end) from = end; // no colon: the value is ""
    switch (field) {
      case Field.Data:
        if (this.#hasData) {
          this.#data += "\n" + text.slice(from, end);
        } else {
          this.#data = text.slice(from, end);
          this.#hasData = true;
        }
        break;
      case Field.Event:
        this.#type = text.slice(from, end);
        break;
      case Field.Id: {
        const id = text.slice(from, end);
        if (id.indexOf("\0") === -1) this.#lastEventId = id;
        break;
      }
      case Field.Retry: {
        if (from === end) break; // an empty value is not a number
        let ms = 0;
        for (let i = from; i < end; i++) {
          const c = text.charCodeAt(i);
          if (c < DIGIT_0 || c > DIGIT_9) return;
          ms = ms * 10 + (c - DIGIT_0);
        }
        this.#retry = ms;
        break;
      }
    }
  }

  #emit(out: SseEvent[], complete: boolean): void {
    const event: SseEvent = {
      type: this.#type === "" ? "message" : this.#type,
      data: this.#data,
      lastEventId: this.#lastEventId,
      complete,
    };
    if (this.#retry !== undefined) event.retry = this.#retry;
    out.push(event);
  }
}

/**
 * Parses a whole SSE body (already decoded text) into events, in order. A last event that
 * has data but no closing blank line is included with `complete: false`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSse } from "./sse.ts";
 *
 * assert.deepEqual(parseSse("event: ping\ndata: {}\n\ndata: [DONE]\n\ndata: cut"), [
 *   { type: "ping", data: "{}", lastEventId: "", complete: true },
 *   { type: "message", data: "[DONE]", lastEventId: "", complete: true },
 *   { type: "message", data: "cut", lastEventId: "", complete: false },
 * ]);
 * ```
 */
export function parseSse(text: string): SseEvent[] {
  const parser = new SseLineParser();
  const out: SseEvent[] = [];
  parser.push(text, out);
  return parser.end(out);
}

/**
 * Decoded text chunks in, events out. Chunks may be split anywhere, including between the CR
 * and LF of a CRLF. On close, a pending event with data is emitted with `complete: false`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseParserStream } from "./sse.ts";
 *
 * const events = await Array.fromAsync(
 *   ReadableStream.from(["data: a\r", "\n\r", "\n"]).pipeThrough(new SseParserStream()),
 * );
 * assert.deepEqual(events, [{ type: "message", data: "a", lastEventId: "", complete: true }]);
 * ```
 */
export class SseParserStream extends TransformStream<string, SseEvent> {
  constructor() {
    super(sseTransformer((chunk: string) => chunk));
  }
}

/**
 * UTF-8 bytes in, events out: a streaming `TextDecoder` (so a character split across chunks
 * decodes whole; invalid bytes become U+FFFD) followed by the same parser as
 * {@link SseParserStream}. Exactly one leading BOM is removed, as the spec's UTF-8 decode does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SseDecoderStream } from "./sse.ts";
 *
 * const bytes = new TextEncoder().encode("data: é\n\n");
 * const chunks = [bytes.subarray(0, 7), bytes.subarray(7)]; // splits the two bytes of "é"
 * const events = await Array.fromAsync(
 *   ReadableStream.from(chunks).pipeThrough(new SseDecoderStream()),
 * );
 * assert.deepEqual(events, [{ type: "message", data: "é", lastEventId: "", complete: true }]);
 * ```
 */
export class SseDecoderStream extends TransformStream<Uint8Array, SseEvent> {
  constructor() {
    // ignoreBOM: keep the BOM in the text; the parser strips exactly one at the start.
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    super(sseTransformer(
      (chunk: Uint8Array) => decoder.decode(chunk, { stream: true }),
      () => decoder.decode(),
    ));
  }
}

/**
 * The transformer of both streams: each chunk made text by `text` and parsed, its events passed
 * on; at the end, the text `tail` gives (the decoder's last characters) and the pending event.
 */
function sseTransformer<I>(
  text: (chunk: I) => string,
  tail?: () => string,
): Transformer<I, SseEvent> {
  const parser = new SseLineParser();
  const out: SseEvent[] = [];
  const drain = (controller: TransformStreamDefaultController<SseEvent>) => {
    for (const event of out) controller.enqueue(event);
    out.length = 0;
  };
  return {
    transform(chunk, controller) {
      parser.push(text(chunk), out);
      drain(controller);
    },
    flush(controller) {
      if (tail) parser.push(tail(), out);
      parser.end(out);
      drain(controller);
    },
  };
}

/**
 * Cheap check for a body recorded without a content type: true if, after an optional BOM and
 * any blank or comment (`:`) lines, the first line's field name is `data`, `event`, `id` or
 * `retry` (followed by `:` or alone on the line). Reads only the start of the text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { looksLikeSse } from "./sse.ts";
 *
 * assert.equal(looksLikeSse(": ping\n\nevent: message_start\ndata: {}\n\n"), true);
 * assert.equal(looksLikeSse('{"error":{"message":"data: no"}}'), false);
 * ```
 */
export function looksLikeSse(text: string): boolean {
  const len = text.length;
  let pos = text.charCodeAt(0) === BOM ? 1 : 0;
  while (pos < len) {
    const c = text.charCodeAt(pos);
    if (c === LF || c === CR) {
      pos++;
    } else if (c === COLON) {
      while (pos < len && text.charCodeAt(pos) !== LF && text.charCodeAt(pos) !== CR) pos++;
    } else {
      // Field names are at most 5 characters, so the first 6 decide.
      let end = pos;
      const limit = Math.min(len, pos + 6);
      while (end < limit && text.charCodeAt(end) !== LF && text.charCodeAt(end) !== CR) end++;
      return fieldOf(text, pos, end) !== Field.None;
    }
  }
  return false;
}

/**
 * The JSON value of an event's data, parsed at most once per event (the result is kept on
 * the event); undefined when the data is not JSON (e.g. `[DONE]`).
 *
 * @example
 * ```ts
 * const [ev] = parseSse('data: {"a":1}\n\n');
 * eventJson(ev); // { a: 1 }
 * ```
 */
export function eventJson(event: SseEvent): unknown {
  if ("json" in event) return event.json;
  let value: unknown;
  const data = event.data;
  let i = 0;
  let c = data.charCodeAt(0);
  // JSON allows leading whitespace (space, tab, LF, CR).
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = data.charCodeAt(++i);
  // Only JSON values start like this; sentinels such as [DONE]'s "D" are skipped cheaply.
  if (
    c === 0x7b || c === 0x5b || c === 0x22 || (c >= 0x30 && c <= 0x39) || c === 0x2d ||
    c === 0x74 || c === 0x66 || c === 0x6e
  ) {
    try {
      value = JSON.parse(data);
    } catch {
      value = undefined;
    }
  }
  event.json = value;
  return value;
}
