/**
 * A fake OpenAI Responses API over WebSocket (`GET …/responses` with `Upgrade: websocket`), on
 * 127.0.0.1 and a free port, for the WebSocket capture tests. It speaks the frame sequence
 * Codex uses (llm-stream-formats.md §2): every client frame is `{"type":"response.create",…}`
 * (or an ack), every server frame one Responses event object, one socket many turns.
 *
 * Per `response.create` frame:
 * - `generate: false` (Codex's prewarm): `response.created` + `response.completed`, no output.
 * - input holding a `function_call_output`: the final answer {@link toolAnswer} of that output.
 * - a user text containing {@link TOOL_MARKER}: a reasoning item and a `function_call` of
 *   `exec_command` running `echo` {@link TOOL_OUTPUT} (Codex runs it and sends the result).
 * - a user text containing `WS-ERROR`: an error frame `{type:"error", status:429, error}`.
 * - `WS-CUT`: `response.created` and one text delta, then a close frame (code 1011) mid-turn.
 * - `WS-BINARY`: a binary frame and a non-JSON text frame before the usual answer.
 * - anything else: the answer {@link wsAnswerFor} of the prompt.
 * Every turn has its own usage ({@link WS_USAGE}) so tests can check sums.
 *
 * {@link startDroppingWsUpstream} is a raw TCP variant that completes the handshake, answers
 * the first frame with two events and then drops the TCP connection without a close frame.
 */
import { concat } from "./tools/data.ts";

/** Marks a prompt that asks for a tool call. */
export const TOOL_MARKER = "WS-TOOL";
/** What the requested tool call prints. */
export const TOOL_OUTPUT = "probe-ws-tool-ran";
/** The model the fake reports when a request names none. */
const DEFAULT_MODEL = "fake-ws-model";

/** Usage of each kind of turn. */
export const WS_USAGE = {
  prewarm: undefined,
  tool: {
    input_tokens: 1000,
    input_tokens_details: { cached_tokens: 800 },
    output_tokens: 50,
    output_tokens_details: { reasoning_tokens: 20 },
    total_tokens: 1050,
  },
  answer: {
    input_tokens: 1100,
    input_tokens_details: { cached_tokens: 1000 },
    output_tokens: 30,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 1130,
  },
} as const;

/** The answer to a plain prompt. */
export function wsAnswerFor(prompt: string): string {
  return `FAKE WS ANSWER to: ${prompt}`;
}

/** The answer after a tool call whose output was `output`. */
export function toolAnswer(output: string): string {
  return output.includes(TOOL_OUTPUT)
    ? `FAKE WS ANSWER: the tool printed ${TOOL_OUTPUT}`
    : "FAKE WS ANSWER: the tool output did not arrive";
}

/** One WebSocket the fake accepted: the handshake and every frame it received. */
export interface FakeSocket {
  path: string;
  headers: Record<string, string>;
  /** Text frames as strings, binary frames as bytes, in arrival order. */
  received: (string | Uint8Array)[];
  /** Resolves when the socket is closed (by either side). */
  closed: Promise<void>;
}

export interface FakeWsUpstream extends AsyncDisposable {
  url: string;
  port: number;
  /** Every HTTP request (method and path), WebSocket upgrades included. */
  requests: { method: string; path: string }[];
  sockets: FakeSocket[];
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/** The text of the last user message, and any function_call_output, of a request's input. */
function readInput(input: unknown): { prompt: string; toolOutput?: string } {
  let prompt = typeof input === "string" ? input : "";
  let toolOutput: string | undefined;
  for (const item of Array.isArray(input) ? input : []) {
    if (item?.type === "function_call_output") {
      toolOutput = typeof item.output === "string" ? item.output : JSON.stringify(item.output);
    }
    if (item?.role !== "user") continue;
    const content = item.content;
    if (typeof content === "string") prompt = content;
    else if (Array.isArray(content)) {
      for (const c of content) if (typeof c?.text === "string") prompt = c.text;
    }
  }
  return { prompt, toolOutput };
}

/** Builds the frames of one turn; `seq` numbers them like the HTTP stream does. */
class TurnFrames {
  frames: string[] = [];
  #seq = 0;
  constructor(readonly id: string, readonly model: string) {}
  ev(type: string, data: Json = {}): this {
    this.frames.push(JSON.stringify({ type, ...data, sequence_number: this.#seq++ }));
    return this;
  }
  response(status: string, output: unknown[], usage?: unknown): Json {
    const r: Json = { id: this.id, object: "response", created_at: 1700000000, status };
    r.model = this.model;
    r.output = output;
    if (usage) r.usage = usage;
    return r;
  }
  created(): this {
    return this.ev("response.created", { response: this.response("in_progress", []) });
  }
  completed(output: unknown[], usage?: unknown): this {
    return this.ev("response.completed", { response: this.response("completed", output, usage) });
  }
  /** A streamed assistant message with `text`, at `index`; returns the final item. */
  message(index: number, text: string): Json {
    const id = `msg_${this.id}_${index}`;
    const done = {
      id,
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text, annotations: [] }],
    };
    const at = { item_id: id, output_index: index, content_index: 0 };
    const half = Math.ceil(text.length / 2);
    this.ev("response.output_item.added", {
      output_index: index,
      item: { ...done, status: "in_progress", content: [] },
    })
      .ev("response.content_part.added", {
        ...at,
        part: { type: "output_text", text: "", annotations: [] },
      })
      .ev("response.output_text.delta", { ...at, delta: text.slice(0, half) })
      .ev("response.output_text.delta", { ...at, delta: text.slice(half) })
      .ev("response.output_text.done", { ...at, text })
      .ev("response.content_part.done", {
        ...at,
        part: { type: "output_text", text, annotations: [] },
      })
      .ev("response.output_item.done", { output_index: index, item: done });
    return done;
  }
}

/** The frames answering one client frame (none for acks and other frames). */
export function answerFrames(frame: unknown, turn: number): { frames: string[]; cut?: boolean } {
  const f = frame as Json;
  if (f?.type !== "response.create") return { frames: [] };
  const model = typeof f.model === "string" ? f.model : DEFAULT_MODEL;
  const t = new TurnFrames(`resp_ws${turn}`, model);
  if (f.generate === false) return { frames: t.created().completed([]).frames };
  const { prompt, toolOutput } = readInput(f.input);
  if (toolOutput !== undefined) {
    t.created();
    const msg = t.message(0, toolAnswer(toolOutput));
    return { frames: t.completed([msg], WS_USAGE.answer).frames };
  }
  if (prompt.includes("WS-ERROR")) {
    t.frames.push(JSON.stringify({
      type: "error",
      status: 429,
      error: {
        type: "rate_limit_exceeded",
        code: "rate_limit_exceeded",
        message: "Slow down (fake WS upstream)",
      },
    }));
    return { frames: t.frames };
  }
  if (prompt.includes("WS-CUT")) {
    t.created().ev("response.output_item.added", {
      output_index: 0,
      item: { id: "msg_cut", type: "message", role: "assistant", status: "in_progress" },
    }).ev("response.output_text.delta", {
      item_id: "msg_cut",
      output_index: 0,
      content_index: 0,
      delta: "Half an ans",
    });
    return { frames: t.frames, cut: true };
  }
  if (prompt.includes(TOOL_MARKER)) {
    t.created();
    const reasoning = {
      id: `rs_${t.id}`,
      type: "reasoning",
      summary: [{ type: "summary_text", text: "The user wants the tool run." }],
      encrypted_content: "gAAAAB-fake-encrypted-reasoning",
    };
    t.ev("response.output_item.added", {
      output_index: 0,
      item: { ...reasoning, summary: [], encrypted_content: undefined },
    })
      .ev("response.reasoning_summary_text.delta", {
        item_id: reasoning.id,
        output_index: 0,
        summary_index: 0,
        delta: "The user wants the tool run.",
      })
      .ev("response.output_item.done", { output_index: 0, item: reasoning });
    const args = JSON.stringify({ cmd: `echo ${TOOL_OUTPUT}` });
    const call = {
      id: `fc_${t.id}`,
      type: "function_call",
      status: "completed",
      call_id: "call_ws_1",
      name: "exec_command",
      arguments: args,
    };
    t.ev("response.output_item.added", {
      output_index: 1,
      item: { ...call, status: "in_progress", arguments: "" },
    })
      .ev("response.function_call_arguments.delta", {
        item_id: call.id,
        output_index: 1,
        delta: args,
      })
      .ev("response.function_call_arguments.done", {
        item_id: call.id,
        output_index: 1,
        arguments: args,
      })
      .ev("response.output_item.done", { output_index: 1, item: call });
    return { frames: t.completed([reasoning, call], WS_USAGE.tool).frames };
  }
  t.created();
  const msg = t.message(0, wsAnswerFor(prompt));
  return { frames: t.completed([msg], WS_USAGE.answer).frames };
}

/** Starts the fake on a free port of 127.0.0.1. Any path ending in `/responses` upgrades. */
export function startFakeWsUpstream(): Promise<FakeWsUpstream> {
  const requests: FakeWsUpstream["requests"] = [];
  const sockets: FakeSocket[] = [];
  let turns = 0;

  const handler = (req: Request): Response => {
    const url = new URL(req.url);
    requests.push({ method: req.method, path: url.pathname + url.search });
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (!upgrade || !url.pathname.endsWith("/responses")) {
      return new Response("the fake WebSocket upstream only upgrades …/responses\n", {
        status: upgrade ? 426 : 404,
      });
    }
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    let closed!: () => void;
    const record: FakeSocket = {
      path: url.pathname,
      headers,
      received: [],
      closed: new Promise((r) => closed = r),
    };
    sockets.push(record);
    socket.onclose = () => closed();
    socket.onerror = () => closed();
    socket.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        record.received.push(new Uint8Array(ev.data as ArrayBuffer));
        return;
      }
      record.received.push(ev.data);
      let frame: unknown;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if ((frame as Json)?.type !== "response.create") return;
      const { frames, cut } = answerFrames(frame, ++turns);
      if (String(ev.data).includes("WS-BINARY")) {
        socket.send(new Uint8Array([0, 159, 146, 150]));
        socket.send("not json: a plain text frame");
      }
      for (const f of frames) socket.send(f);
      if (cut) socket.close(1011, "fake upstream cut the turn (as asked)");
    };
    return response;
  };

  return new Promise((resolve) => {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
    const port = server.addr.port;
    const close = () => server.shutdown();
    resolve({
      url: `http://127.0.0.1:${port}/`,
      port,
      requests,
      sockets,
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Raw variant: drops the TCP connection mid-turn (no close frame)

export interface DroppingWsUpstream extends AsyncDisposable {
  url: string;
  /** Resolves once the connection was dropped. */
  dropped: Promise<void>;
}

const enc = new TextEncoder();

async function readUntil(conn: Deno.Conn, buf: Uint8Array[], need: (b: Uint8Array) => boolean) {
  const chunk = new Uint8Array(65536);
  for (;;) {
    const all = concat(buf);
    if (need(all)) return all;
    const n = await conn.read(chunk);
    if (n === null) throw new Error("client went away");
    buf.push(chunk.slice(0, n));
  }
}

/** One unmasked server text frame. */
function textFrame(text: string): Uint8Array {
  const payload = enc.encode(text);
  const n = payload.length;
  const head = n < 126
    ? [0x81, n]
    : n < 65536
    ? [0x81, 126, n >> 8, n & 0xff]
    : [0x81, 127, 0, 0, 0, 0, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return concat([new Uint8Array(head), payload]);
}

/** Length of the first complete (masked) client frame in `b`, or 0 when it is not all there. */
function frameLength(b: Uint8Array): number {
  if (b.length < 2) return 0;
  let len = b[1] & 0x7f;
  let at = 2;
  if (len === 126) {
    if (b.length < 4) return 0;
    len = (b[2] << 8) | b[3];
    at = 4;
  } else if (len === 127) {
    if (b.length < 10) return 0;
    len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
    at = 10;
  }
  const total = at + ((b[1] & 0x80) ? 4 : 0) + len;
  return b.length >= total ? total : 0;
}

/**
 * A WebSocket server that completes the handshake, waits for one client frame, sends
 * `response.created` and one text delta, and then closes the TCP connection (no close frame).
 */
export function startDroppingWsUpstream(): DroppingWsUpstream {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let dropped!: () => void;
  const done = new Promise<void>((r) => dropped = r);
  const serve = async () => {
    for await (const conn of listener) {
      try {
        const buf: Uint8Array[] = [];
        const head = await readUntil(
          conn,
          buf,
          (b) => new TextDecoder().decode(b).includes("\r\n\r\n"),
        );
        const text = new TextDecoder().decode(head);
        const key = /sec-websocket-key:\s*(\S+)/i.exec(text)?.[1] ?? "";
        const digest = await crypto.subtle.digest(
          "SHA-1",
          enc.encode(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
        );
        const accept = btoa(String.fromCharCode(...new Uint8Array(digest)));
        await conn.write(enc.encode(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
        ));
        const rest = head.slice(text.indexOf("\r\n\r\n") + 4);
        await readUntil(conn, rest.length ? [rest] : [], (b) => frameLength(b) > 0);
        const t = new TurnFrames("resp_drop", DEFAULT_MODEL).created().ev(
          "response.output_text.delta",
          { item_id: "msg_drop", output_index: 0, content_index: 0, delta: "Dropped after" },
        );
        for (const f of t.frames) await conn.write(textFrame(f));
        // Then the connection closes (in `finally`) without a close frame. Nothing is left
        // unread, so the close is a FIN, not a reset that could discard the frames in flight.
      } catch {
        // the client went away first
      } finally {
        conn.close();
        dropped();
      }
    }
  };
  const served = serve();
  const close = async () => {
    try {
      listener.close();
    } catch {
      // already closed
    }
    await served.catch(() => {});
  };
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/`,
    dropped: done,
    [Symbol.asyncDispose]: close,
  };
}
