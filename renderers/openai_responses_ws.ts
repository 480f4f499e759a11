/**
 * The OpenAI Responses API over WebSocket (`GET …/responses` with `Upgrade: websocket`): one
 * exchange carries many turns. {@link withWebSocket} wraps the Responses renderer so that such
 * an exchange shows the handshake as its request and, as its response, an overview of the turns
 * and then each turn: the client's `response.create` frame rendered like a request body (only
 * what changed since the previous turn of the socket) and the server's frames rendered exactly
 * like the SSE stream of the same API. Acks, `response.append`, prewarms, binary and non-JSON
 * frames are shown compactly; the usage of the exchange is the sum over its turns.
 *
 * The turn split lives in openai_ws_turns.ts; everything API-specific is reused from the wrapped
 * renderer. Nothing here throws on odd input: a turn that cannot be rendered is shown raw.
 */

import {
  advanceConversation,
  type Conversation,
  deltaBlocks,
  fullRequestBlocks,
  requestDelta,
} from "../lib/conversation.ts";
import { getHeader } from "../lib/headers.ts";
import type {
  Block,
  Entry,
  ModelCall,
  RenderedBody,
  Renderer,
  RequestParts,
  ResponseView,
  Usage,
  WsFrame,
} from "../lib/types.ts";
import { classifyFrame, websocketMessages } from "../lib/websocket.ts";
import { sessionOf, TURN_END, TURN_START, type WsSession, type WsTurn } from "./openai_ws_turns.ts";
import { arr, isRecord, type JsonObject, str } from "../lib/json.ts";
import { code, fields, heading, paragraph } from "./blocks.ts";
import { errorInfo, errorLine } from "./errors.ts";
import { formatUsage } from "./response.ts";
import { excerpt } from "./text.ts";
import { compactJson, prettyJson } from "./values.ts";

/** Event types of a prewarm that produced nothing (shown as one line). */
const QUIET_EVENTS = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.completed",
]);

/** Length of a summary cell. */
const CELL = 160;

/**
 * Wraps a Responses renderer so WebSocket exchanges render per turn; every other exchange goes
 * to `base` unchanged.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withWebSocket } from "./openai_responses_ws.ts";
 * import type { Renderer } from "../lib/types.ts";
 *
 * const base: Renderer = {
 *   id: "base",
 *   name: "Base",
 *   renderRequest: () => ({ blocks: [{ kind: "paragraph", text: "plain request" }] }),
 *   renderResponse: () => ({ blocks: [] }),
 * };
 * const renderer = withWebSocket(base);
 * const entry = {
 *   timestamp: 0,
 *   request: { method: "POST", url: "http://h/v1/responses", headers: {}, body: { input: "hi" } },
 *   response: null,
 * };
 * // An exchange that is not a WebSocket goes to the wrapped renderer unchanged.
 * assert.deepEqual(renderer.renderRequest({ input: "hi" }, entry).blocks, [
 *   { kind: "paragraph", text: "plain request" },
 * ]);
 * ```
 */
export function withWebSocket(base: Renderer): Renderer {
  const wrapped: Renderer = {
    ...base,
    renderRequest: (body, entry) =>
      isUpgrade(entry) && isEmpty(body) ? handshakeRequest(entry) : base.renderRequest(body, entry),
    renderResponse: (view, entry, options) => {
      const session = websocketMessages(entry) ? sessionOf(view, entry) : undefined;
      return session
        ? renderSession(base, session, view, entry, options?.full ?? false)
        : base.renderResponse(view, entry, options);
    },
  };
  if (base.requestParts) {
    const parts = base.requestParts.bind(base);
    wrapped.requestParts = (body, entry) =>
      websocketMessages(entry) && isEmpty(body) ? socketParts(parts, entry) : parts(body, entry);
  }
  return wrapped;
}

// ---------------------------------------------------------------------------------------------
// The handshake (the exchange's request)

function isUpgrade(entry: Entry): boolean {
  return websocketMessages(entry) !== undefined ||
    getHeader(entry.request.headers ?? {}, "upgrade").toLowerCase() === "websocket";
}

const isEmpty = (body: unknown) => body === null || body === undefined || body === "";

function handshakeNote(entry: Entry): Block {
  const messages = websocketMessages(entry);
  if (!messages) {
    return paragraph(
      entry.response?.status_code === 101
        ? "WebSocket upgrade request (no body). The server switched protocols, but the capture " +
          "holds no WebSocket messages."
        : "WebSocket upgrade request (no body). No WebSocket messages were recorded: the " +
          "server did not switch protocols (see the status), so a client would fall back to HTTP.",
    );
  }
  const client = messages.filter((m) => isRecord(m) && m.from === "client").length;
  return paragraph(
    `WebSocket upgrade request (no body). The socket carried ${client} client and ` +
      `${messages.length - client} server messages: each turn is shown under Response Body.`,
  );
}

function handshakeRequest(entry: Entry): RenderedBody {
  return { blocks: [handshakeNote(entry)] };
}

/**
 * The socket's parts for the report's conversation grouping: the first `response.create`
 * frame's model, conversation key and continued response, and the handshake note.
 */
function socketParts(
  parts: (body: unknown, entry: Entry) => RequestParts | undefined,
  entry: Entry,
): RequestParts {
  const out: RequestParts = { fields: [], extra: [handshakeNote(entry)] };
  for (const message of websocketMessages(entry) ?? []) {
    if (!isRecord(message) || message.from !== "client") continue;
    const frame = classifyFrame(message);
    if (frame.type !== TURN_START || !frame.json) continue;
    const first = safe(() => parts(createBody(frame.json!), entry));
    if (first?.model) out.model = first.model;
    if (first?.conversationKey) out.conversationKey = first.conversationKey;
    if (first?.continues) out.continues = first.continues;
    break;
  }
  if (out.model) out.fields.push(["Model (first turn)", out.model]);
  return out;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The request body of a `response.create` frame (also when it nests it under `response`). */
function createBody(frame: JsonObject): JsonObject {
  if (isRecord(frame.response) && !("input" in frame) && !("model" in frame)) {
    return { type: frame.type, ...frame.response };
  }
  return frame;
}

// ---------------------------------------------------------------------------------------------
// The turns (the exchange's response)

/** What one turn contributes to the exchange. */
interface RenderedTurn {
  blocks: Block[];
  row: string[];
  problems: string[];
  usage?: Usage;
  model?: string;
  responseId?: string;
  /** The `response.create` frame as a request body of the API. */
  body?: JsonObject;
  response?: RenderedBody;
  /** The turn's problems (its response's among them), without the turn's number. */
  own?: string[];
}

function renderSession(
  base: Renderer,
  session: WsSession,
  view: ResponseView,
  entry: Entry,
  full: boolean,
): RenderedBody {
  const t0 = entry.timing?.start ?? entry.timestamp;
  const at = (t: number) =>
    Number.isFinite(t) && Number.isFinite(t0) ? `+${(t - t0).toFixed(3)}s` : "?";
  const conversations = new Map<string, Conversation>();
  const rendered = session.turns.map((turn) => {
    try {
      return renderTurn(base, turn, view, entry, { conversations, full }, at);
    } catch (err) {
      return rawTurn(turn, at, (err as Error).message);
    }
  });

  const problems = rendered.flatMap((r) => r.problems);
  const usage = sumUsage(rendered.map((r) => r.usage));
  const models = [...new Set(rendered.map((r) => r.model).filter((m): m is string => !!m))];
  const responseId = rendered.map((r) => r.responseId).filter(Boolean).pop();
  const numbered = session.turns.filter((t) => t.number > 0);
  const prewarms = numbered.filter((t) => t.prewarm).length;

  const rows: [string, string][] = [[
    "WebSocket",
    `${numbered.length} turn(s)${prewarms ? ` (${prewarms} prewarm)` : ""}; ` +
    `${session.clientMessages} client and ${session.serverMessages} server messages` +
    (Number.isFinite(session.first) && Number.isFinite(session.last)
      ? ` from ${at(session.first)} to ${at(session.last)}`
      : ""),
  ]];
  if (models.length === 1) rows.push(["Model", models[0]]);
  else if (models.length > 1) rows.push(["Models", models.join(", ")]);
  if (responseId) rows.push(["Last response", responseId]);
  if (usage) rows.push(["Usage", `${formatUsage(usage)} (sum over the turns)`]);

  const blocks: Block[] = [fields(rows)];
  if (session.turns.length === 0) blocks.push(paragraph("No WebSocket messages were recorded."));
  else {
    blocks.push(heading(`Turns (${numbered.length})`), {
      kind: "table",
      header: ["Turn", "Time", "Request", "Response", "Status", "Output", "Usage"],
      rows: rendered.map((r) => r.row),
    });
  }
  for (const r of rendered) blocks.push(...r.blocks);

  const out: RenderedBody = { blocks, problems, calls: modelCalls(session, rendered, entry) };
  if (usage) out.usage = usage;
  // Totals count the exchange under one model: the last one that answered.
  const model = rendered.map((r) => r.model).filter(Boolean).pop();
  if (model) out.model = model;
  if (responseId) out.responseId = responseId;
  return out;
}

function renderTurn(
  base: Renderer,
  turn: WsTurn,
  view: ResponseView,
  entry: Entry,
  requests: { conversations: Map<string, Conversation>; full: boolean },
  at: (t: number) => string,
): RenderedTurn {
  if (turn.number === 0) return renderLeadIn(turn, at);
  const label = `Turn ${turn.number}`;
  const blocks: Block[] = [];
  const problems: string[] = [];
  const body = turn.request?.json ? createBody(turn.request.json) : undefined;
  let requestModel: string | undefined;

  if (turn.request && body) {
    const kind = turn.prewarm ? "response.create, prewarm (generate: false)" : TURN_START;
    blocks.push(heading(`${label} request: ${kind} (${at(turn.request.t)})`));
    const request = requestBlocks(base, body, entry, requests, turn.number);
    requestModel = request.model;
    blocks.push(...nested(request.blocks));
  }

  let response: RenderedBody | undefined;
  if (turn.events.length > 0) {
    const turnView: ResponseView = {
      kind: "websocket",
      status: view.status,
      contentType: view.contentType,
      body: null,
      frames: turn.frames,
      events: turn.events,
    };
    response = base.renderResponse(turnView, entry);
  }
  const span = !Number.isFinite(turn.start)
    ? "no frames"
    : turn.start === turn.end
    ? at(turn.start)
    : `${at(turn.start)} … ${at(turn.end)}`;
  blocks.push(heading(`${label} response (${span})`));
  const cut = cutText(turn);
  if (cut) blocks.push(paragraph(`Cut off: ${cut}.`));
  let own = (response?.problems ?? []).filter((p) =>
    !(cut && p.startsWith("stream truncated")) && !(turn.prewarm && p === "no usage reported")
  );
  if (!response) {
    blocks.push(paragraph("No JSON frames from the server in this turn."));
  } else if (turn.prewarm && !cut && own.length === 0 && isQuiet(turn)) {
    const rows: [string, string][] = [[
      "Prewarm",
      `${response.responseId ?? "response"} ${turnStatus(turn)}, no output (${
        turn.events.map((e) => e.type).join(", ")
      })`,
    ]];
    if (response.usage) rows.push(["Usage", formatUsage(response.usage)]);
    blocks.push(fields(rows));
  } else blocks.push(...nested(response.blocks));
  if (cut) own.unshift(cut);
  const notJson = turn.others.filter((f) => f.from === "server" && f.text !== undefined).length;
  if (notJson > 0) own.push(`${notJson} server frame(s) that are not JSON objects`);
  const callProblems = own;
  own = own.map((p) => `turn ${turn.number}: ${p}`);
  problems.push(...own);

  if (turn.others.length > 0) {
    blocks.push(
      heading(`${label} other frames (${turn.others.length})`),
      {
        kind: "table",
        header: ["Time", "From", "Frame", "Summary"],
        rows: turn.others.map((f) => otherRow(base, f, entry, at)),
      },
    );
  }

  const row = [
    String(turn.number),
    at(turn.request?.t ?? turn.start),
    requestSummary(turn, body),
    response?.responseId ?? "",
    turnStatus(turn),
    outputSummary(turn),
    response?.usage ? String(response.usage.total) : "",
  ];
  const out: RenderedTurn = { blocks, row, problems, own: callProblems };
  if (body) out.body = body;
  if (response) out.response = response;
  if (response?.usage) out.usage = response.usage;
  const model = response?.model ?? requestModel;
  if (model) out.model = model;
  if (response?.responseId) out.responseId = response.responseId;
  return out;
}

/**
 * Frames before the first `response.create` (e.g. rate-limit notes): listed one per row, not
 * read as a response; error frames among them are problems.
 */
function renderLeadIn(turn: WsTurn, at: (t: number) => string): RenderedTurn {
  const problems: string[] = [];
  for (const f of turn.frames) {
    if (f.from !== "server") continue;
    if (f.type === "error" && f.json) {
      const nested = f.json.error !== undefined && f.json.error !== null;
      problems.push(errorLine(errorInfo("error event", nested ? f.json.error : f.json, !nested)));
    } else if (!f.json && f.text !== undefined) problems.push("a server frame that is not JSON");
  }
  return {
    blocks: [
      heading(`Before the first response.create (${turn.frames.length} frames)`),
      {
        kind: "table",
        header: ["Time", "From", "Frame", "Summary"],
        rows: turn.frames.map((f) => otherRow(undefined, f, undefined, at)),
      },
    ],
    row: ["–", at(turn.start), "", "", "", "", ""],
    problems: problems.map((p) => `before the first turn: ${p}`),
  };
}

/** A turn whose rendering failed: its frames raw, and the reason as a problem. */
function rawTurn(turn: WsTurn, at: (t: number) => string, reason: string): RenderedTurn {
  const frames: unknown[] = [...(turn.request ? [turn.request] : []), ...turn.others].map((f) =>
    f.json ?? f.text ?? `(binary, ${f.binaryBytes} bytes)`
  );
  frames.push(...turn.events.map((e) => e.json ?? e.data));
  return {
    blocks: [
      heading(`Turn ${turn.number} (${at(turn.start)})`),
      paragraph(`(renderer failed: ${reason}; raw frames below)`),
      code(prettyJson(frames), "json"),
    ],
    row: [String(turn.number), at(turn.start), "", "", "", "", ""],
    problems: [`turn ${turn.number}: renderer failed: ${reason}`],
  };
}

/**
 * The request of one turn: only what changed since the previous turn of the socket with the
 * same conversation key (first turn in full), like the report's per-turn delta view.
 */
function requestBlocks(
  base: Renderer,
  body: JsonObject,
  entry: Entry,
  requests: { conversations: Map<string, Conversation>; full: boolean },
  number: number,
): { blocks: Block[]; model?: string } {
  const parts = base.requestParts ? safe(() => base.requestParts!(body, entry)) : undefined;
  if (!parts) {
    const r = base.renderRequest(body, entry);
    return { blocks: r.blocks, model: r.model };
  }
  if (requests.full) return { blocks: fullRequestBlocks(parts), model: parts.model };
  const { conversations } = requests;
  const key = parts.conversationKey ?? "";
  let conv = conversations.get(key);
  if (!conv) {
    conv = {
      id: conversations.size + 1,
      basis: "WebSocket",
      requests: 0,
      lastIndex: 0,
      itemKeys: [],
      hashed: false,
    };
    conversations.set(key, conv);
  }
  const delta = requestDelta(parts, conv);
  const blocks = deltaBlocks(parts, delta, (turn) => `turn ${turn}`);
  advanceConversation(conv, parts, delta, number);
  return { blocks, model: parts.model };
}

/** Headings of reused blocks sit one level below the turn's heading. */
function nested(blocks: Block[]): Block[] {
  return blocks.map((b) => (b.kind === "heading" ? { ...b, level: (b.level ?? 1) + 1 } : b));
}

function isQuiet(turn: WsTurn): boolean {
  return turn.events.every((e) => QUIET_EVENTS.has(e.type));
}

/** Why a turn never finished, or undefined when it did. */
function cutText(turn: WsTurn): string | undefined {
  if (!turn.cut) return undefined;
  const last = turn.events[turn.events.length - 1]?.type;
  const detail = `no response.completed; last server frame: ${last ?? "none"}`;
  switch (turn.cut) {
    case "closed":
      return `the socket closed mid-turn (${detail})`;
    case "capture stopped":
      return `the capture stopped mid-turn (${detail})`;
    case "superseded":
      return `the client sent the next response.create before this turn finished (${detail})`;
  }
}

/** The Status cell: the end frame's status, the error, or how the turn was cut. */
function turnStatus(turn: WsTurn): string {
  if (turn.cut) return `cut off (${turn.cut})`;
  for (let i = turn.events.length - 1; i >= 0; i--) {
    const e = turn.events[i];
    if (!TURN_END.has(e.type)) continue;
    const d = isRecord(e.json) ? e.json : {};
    if (e.type === "error") {
      const err = isRecord(d.error) ? d.error : d;
      const status = d.status !== undefined ? `${compactJson(d.status)} ` : "";
      return `error ${status}${str(err.code) ?? str(err.type) ?? ""}`.trim();
    }
    const resp = isRecord(d.response) ? d.response : {};
    return str(resp.status) ?? e.type.replace(/^response\./, "");
  }
  return "no end frame";
}

/** The Request cell: prewarm, or how many input items and what they continue. */
function requestSummary(turn: WsTurn, body: JsonObject | undefined): string {
  if (!body) return "";
  const input = body.input;
  const count = Array.isArray(input) ? input.length : input === undefined ? 0 : 1;
  const parts = [turn.prewarm ? `prewarm, ${count} input item(s)` : `${count} input item(s)`];
  const previous = str(body.previous_response_id);
  if (previous) parts.push(`continues ${previous}`);
  return parts.join(", ");
}

/** The Output cell: the types of the output items (with tool names), from the final frames. */
function outputSummary(turn: WsTurn): string {
  let items: unknown[] = [];
  for (const e of turn.events) {
    const d = isRecord(e.json) ? e.json : {};
    if (TURN_END.has(e.type) && isRecord(d.response) && arr(d.response.output).length > 0) {
      items = arr(d.response.output);
    }
  }
  if (items.length === 0) {
    items = turn.events.filter((e) => e.type === "response.output_item.done").map((e) =>
      isRecord(e.json) ? e.json.item : undefined
    );
  }
  const names = items.map((item) => {
    if (!isRecord(item)) return "?";
    const type = str(item.type) ?? "?";
    const name = str(item.name);
    return name ? `${type} ${name}` : type;
  });
  return excerpt(names.join(", "), CELL);
}

/** A row of a frames table (`base` and `entry` summarise `response.append` input). */
function otherRow(
  base: Renderer | undefined,
  f: WsFrame,
  entry: Entry | undefined,
  at: (t: number) => string,
): string[] {
  if (f.binaryBytes !== undefined) {
    return [at(f.t), f.from, "binary", `${f.binaryBytes} bytes (base64 in the capture)`];
  }
  if (!f.json) return [at(f.t), f.from, "text (not JSON)", excerpt(f.text ?? "", CELL)];
  const type = f.type ?? "(no type)";
  if (type === "response.processed") {
    return [at(f.t), f.from, type, `ack of ${inlineId(f.json.response_id)}`];
  }
  if (type === "response.append" && base && entry) {
    return [at(f.t), f.from, type, appendSummary(base, f, entry)];
  }
  const { type: _type, ...rest } = f.json;
  return [at(f.t), f.from, type, excerpt(compactJson(rest, 80), CELL)];
}

const inlineId = (v: unknown) => str(v) ?? compactJson(v ?? null);

/** "N input item(s): user message: hello; function_call_output: call_1 → ok". */
function appendSummary(base: Renderer, f: WsFrame, entry: Entry): string {
  const input = f.json?.input;
  const parts = base.requestParts ? safe(() => base.requestParts!({ input }, entry)) : undefined;
  const items = parts?.items;
  if (!items) return excerpt(compactJson(input ?? null, 80), CELL);
  const shown = items.keys.map((_, i) => {
    const [, role, type, content] = items.row(i);
    return `${[role, type].filter(Boolean).join(" ")}: ${content}`;
  });
  return excerpt(`${items.keys.length} input item(s): ${shown.join("; ")}`, CELL * 2);
}

/** The sum of the turns' usage; undefined when no turn reported any. */
export function sumUsage(usages: (Usage | undefined)[]): Usage | undefined {
  let sum: Usage | undefined;
  for (const u of usages) {
    if (!u) continue;
    sum ??= { input: 0, output: 0, total: 0 };
    sum.input += u.input;
    sum.output += u.output;
    sum.total += u.total;
    for (const k of ["cached", "cacheWrite", "reasoning"] as const) {
      if (u[k] !== undefined) sum[k] = (sum[k] ?? 0) + u[k]!;
    }
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------
// The turns as model calls (for the analysis model, the token totals and OTLP)

/** Responses whose context is kept for a later turn that continues one of them. */
const KEPT_CONTEXTS = 16;

/**
 * The turns that are model calls (a prewarm is one only when it reported usage: it was
 * billed), each as an exchange of its own. A turn that continues a response of the same
 * socket (`previous_response_id`) sends only its new input: the server holds the rest, so its
 * whole body is the input the server saw (that response's input and output, then the new
 * input), as a request over HTTP would send it.
 */
function modelCalls(session: WsSession, rendered: RenderedTurn[], entry: Entry): ModelCall[] {
  /** Response id → the input a turn continuing it has before its own. */
  const contexts = new Map<string, unknown[]>();
  const calls: ModelCall[] = [];
  session.turns.forEach((turn, i) => {
    const r = rendered[i];
    const body = r.body;
    if (turn.number === 0 || !turn.request || !body) return;
    const previous = str(body.previous_response_id);
    const kept = previous ? contexts.get(previous) : undefined;
    const input = [...(kept ?? []), ...inputItems(body)];
    const id = r.response?.responseId;
    if (id) {
      contexts.set(id, [...input, ...arr(r.response?.final?.output)]);
      if (contexts.size > KEPT_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    }
    if (turn.prewarm && !r.response?.usage) return;
    calls.push({
      number: turn.number,
      entry: callEntry(entry, turn, body),
      ...(r.response ? { response: r.response } : {}),
      ...(kept ? { wholeBody: () => ({ ...body, input }) } : {}),
      problems: r.own ?? [],
    });
  });
  return calls;
}

/** A request's `input` as a list of items (a string is one user message). */
function inputItems(body: JsonObject): unknown[] {
  const input = body.input;
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return arr(input);
}

/**
 * The turn as the HTTP exchange it stands for: the handshake's URL and headers, the frame as
 * the body, the turn's own times; no response when it was cut off (`incomplete` when the
 * capture stopped during it, an `error` saying how otherwise).
 */
function callEntry(entry: Entry, turn: WsTurn, body: JsonObject): Entry {
  const sent = turn.request?.t;
  const start = sent !== undefined && Number.isFinite(sent) ? sent : entry.timestamp;
  const answer = turn.frames.find((f) => f.from === "server" && Number.isFinite(f.t))?.t;
  const end = Number.isFinite(turn.end) ? turn.end : null;
  const call: Entry = {
    timestamp: start,
    request: {
      method: entry.request.method,
      url: entry.request.url,
      headers: entry.request.headers,
      body,
    },
    response: turn.cut || !entry.response ? null : {
      status_code: entry.response.status_code,
      headers: entry.response.headers,
      body: null,
    },
    timing: { start, first_byte: answer ?? null, end },
  };
  if (entry.id !== undefined) call.id = entry.id;
  if (entry.proxy !== undefined) call.proxy = entry.proxy;
  if (turn.cut === "capture stopped") call.incomplete = true;
  else if (turn.cut) call.error = cutText(turn);
  return call;
}
