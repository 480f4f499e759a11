/**
 * Fake servers for the capture tests, all on 127.0.0.1 and free ports:
 * - a model API speaking the four formats real agents use, streamed and not: OpenAI Responses
 *   (SSE and JSON; also any unknown path), Chat Completions (`…/chat/completions`: chunks, a
 *   usage chunk when `stream_options.include_usage`, `[DONE]`; or JSON), Anthropic Messages
 *   (`…/messages`: `message_start` … `message_stop`; or JSON) and Gemini
 *   (`…:generateContent` JSON, `…:streamGenerateContent?alt=sse`; Code Assist's wrapped
 *   `/v1internal:…` too). Each answer echoes the prompt (`answerFor`) with fixed usage per API
 *   (`COUNTED_USAGE`); a prompt holding `probe-tool-call:PATH` gets a tool round trip (see
 *   `TOOL_MARKER`). Model lists (`GET /v1/models`, `/v1beta/models`) and token counts answer
 *   too. The `x-fake` request header picks a test behaviour: `gzip`; `br` (JSON only);
 *   `binary`; `big` (a large JSON body); `hold` (a stream held open until the test calls
 *   `release()`; also for a body holding `HOLD_MARKER`); `drop` (a stream cut mid-way once the
 *   test calls `release()`). `HEAD /` and
 *   `GET /` answer 200, a WebSocket upgrade 426 (except the echo server on `/ws`),
 *   `POST /oauth/token` a token JSON. Every request is recorded.
 * - the same over https, with a CA and certificate made by `openssl` at test time.
 * - a CONNECT proxy that records what it tunnels (for `--upstream-proxy`).
 * - a raw HTTP client (node:http) that returns the bytes as received: no decompression.
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import { brotliCompressSync, brotliDecompressSync, gzipSync, zstdDecompressSync } from "node:zlib";

export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The API the fake answered it as, for model turns. */
  api?: Api;
  /** The model asked for (Gemini: from the path). */
  model?: string;
  /** What the fake model answered: text, or a tool call. */
  reply?: "text" | "tool";
  /** Whether the answer carried usage (a Chat stream only with `include_usage`). */
  usage?: boolean;
}

export interface FakeUpstream extends AsyncDisposable {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves when a `hold` stream has sent its first event and waits. */
  held: Promise<void>;
  /** Lets a `hold` stream finish. */
  release(): void;
  close(): Promise<void>;
}

export interface TlsFiles {
  dir: string;
  caFile: string;
  cert: string;
  key: string;
}

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// What the fake model says

/** The final answer the fake model gives: echoes the prompt so tests can find both. */
export function answerFor(prompt: string): string {
  return `FAKE ANSWER to: ${prompt}`;
}

/**
 * A prompt holding `probe-tool-call:PATH` asks for a tool round trip: the first answer calls a
 * tool the agent offers (a shell tool running `cat PATH`, else a file-reading tool on PATH);
 * once the request carries the tool's result, the answer is `toolAnswerFor(quoteOf(result))`.
 */
export const TOOL_MARKER = "probe-tool-call:";

/**
 * A prompt holding this is answered as the `hold` behaviour: the stream waits after its first
 * event until the test calls `release()` (for an agent, whose headers a test cannot set).
 */
export const HOLD_MARKER = "probe-hold-stream";

/** Shell tools the fake model calls, by name, in order of preference. */
const SHELL_TOOLS = [
  "Bash",
  "bash",
  "run_shell_command",
  "exec_command",
  "shell",
  "exec",
  // Cline 3.x: {commands: [...]}.
  "run_commands",
];
/** File-reading tools it falls back to (Gemini CLI offers no shell non-interactively). */
const READ_TOOLS = ["Read", "read", "read_file", "view"];

/** The final answer after a tool round trip. */
export function toolAnswerFor(quote: string): string {
  return `FAKE ANSWER after the tool: it printed ${quote}`;
}

/** What the final answer quotes of a tool result: its first `probe-note-…` token, else its start. */
export function quoteOf(result: string): string {
  const m = /probe-note-[A-Za-z0-9]+/.exec(result);
  return m ? m[0] : result.replace(/\s+/g, " ").trim().slice(0, 80);
}

// ---------------------------------------------------------------------------------------------
// Usage: fixed per API, so tests can assert totals

/** Usage of every OpenAI Responses API answer. */
export const USAGE = {
  input_tokens: 321,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 45,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 366,
};

/** Usage of every Chat Completions answer (streamed: when `stream_options.include_usage`). */
export const CHAT_USAGE = {
  prompt_tokens: 210,
  completion_tokens: 34,
  total_tokens: 244,
  prompt_tokens_details: { cached_tokens: 64 },
  completion_tokens_details: { reasoning_tokens: 0 },
};

/** Usage of every Anthropic Messages answer (`input_tokens` excludes the cache counts). */
export const ANTHROPIC_USAGE = {
  input_tokens: 150,
  cache_creation_input_tokens: 20,
  cache_read_input_tokens: 100,
  output_tokens: 27,
};

/** `usageMetadata` of every Gemini answer (on the last chunk of a stream). */
export const GEMINI_USAGE = {
  promptTokenCount: 180,
  cachedContentTokenCount: 30,
  candidatesTokenCount: 22,
  thoughtsTokenCount: 8,
  totalTokenCount: 210,
};

/** The four model APIs the fake speaks. */
export type Api = "responses" | "chat" | "anthropic" | "gemini";

/** Normalised usage as the report's Token Usage section counts one answer. */
export interface CountedUsage {
  /** All input tokens, cached and cache writes included. */
  input: number;
  cached: number;
  cacheWrite: number;
  /** Output tokens, reasoning included. */
  output: number;
  reasoning: number;
}

/** What one answer of each API adds to the report's Token Usage table. */
export const COUNTED_USAGE: Record<Api, CountedUsage> = {
  responses: { input: 321, cached: 0, cacheWrite: 0, output: 45, reasoning: 0 },
  chat: { input: 210, cached: 64, cacheWrite: 0, output: 34, reasoning: 0 },
  anthropic: { input: 270, cached: 100, cacheWrite: 20, output: 27, reasoning: 0 },
  gemini: { input: 180, cached: 30, cacheWrite: 0, output: 30, reasoning: 8 },
};

// ---------------------------------------------------------------------------------------------
// Reading a request: the prompt, the offered tools, a tool result after the prompt

interface ToolSpec {
  name: string;
  /** JSON Schema of the arguments (empty for a freeform tool). */
  schema: Json;
  /** A freeform tool (Responses `type: "custom"`): called with text, not JSON. */
  custom: boolean;
}

/** One model request as the fake model sees it, whatever the API. */
interface Turn {
  model: string;
  /** The last user prompt. */
  prompt: string;
  /** The result of a tool call sent after that prompt, if any. */
  toolResult?: string;
  tools: ToolSpec[];
  /** A JSON Schema the answer text must follow (Gemini `responseJsonSchema`), if any. */
  jsonSchema?: Json;
}

type Reply =
  | { kind: "text"; text: string }
  | { kind: "tool"; name: string; args: Record<string, unknown>; custom?: string };

// deno-lint-ignore no-explicit-any
type Json = any;

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? v : [];
}

/** The texts of a message content (a string, or parts with `text`). */
function texts(content: unknown): string[] {
  if (typeof content === "string") return [content];
  return arr(content).filter((p) => typeof p?.text === "string" && p.type !== "tool_result")
    .map((p) => p.text as string);
}

/** The prompt among a message's texts: the last one that is not a `<tag>` reminder. */
function pickPrompt(parts: string[]): string {
  const real = parts.filter((t) => !t.trimStart().startsWith("<"));
  return (real.length ? real : parts).at(-1) ?? "";
}

/** A tool result's text: strings as they are, text parts joined, anything else as JSON. */
function resultText(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every((p) => typeof p?.text === "string")) {
    return v.map((p) => p.text).join("\n");
  }
  return JSON.stringify(v ?? null);
}

function responsesTurn(body: Json): Turn {
  const turn: Turn = { model: body?.model ?? "fake-model", prompt: "", tools: [] };
  const input = typeof body?.input === "string"
    ? [{ role: "user", content: body.input }]
    : arr(body?.input);
  const addTools = (list: unknown): void => {
    for (const t of arr(list)) {
      if (t?.type === "namespace") addTools(t.tools); // Codex groups its tools in namespaces
      if (typeof t?.name !== "string" || t.type === "namespace") continue;
      turn.tools.push({ name: t.name, schema: t.parameters ?? {}, custom: t.type === "custom" });
    }
  };
  addTools(body?.tools);
  for (const item of input) {
    if (item?.type === "function_call_output" || item?.type === "custom_tool_call_output") {
      turn.toolResult = resultText(item.output);
    } else if (item?.role === "user" && (item.type === undefined || item.type === "message")) {
      const t = texts(item.content);
      if (t.length) {
        turn.prompt = pickPrompt(t);
        turn.toolResult = undefined;
      }
    } else if (Array.isArray(item?.tools)) {
      addTools(item.tools); // Codex's reduced shape: tools in an input item
    }
  }
  return turn;
}

function chatTurn(body: Json): Turn {
  const turn: Turn = { model: body?.model ?? "fake-model", prompt: "", tools: [] };
  for (const t of arr(body?.tools)) {
    const f = t?.function;
    if (typeof f?.name === "string") {
      turn.tools.push({ name: f.name, schema: f.parameters ?? {}, custom: false });
    }
  }
  for (const m of arr(body?.messages)) {
    if (m?.role === "tool") turn.toolResult = resultText(m.content);
    else if (m?.role === "user") {
      const t = texts(m.content);
      if (t.length) {
        turn.prompt = pickPrompt(t);
        turn.toolResult = undefined;
      }
    }
  }
  return turn;
}

function anthropicTurn(body: Json): Turn {
  const turn: Turn = { model: body?.model ?? "claude-fake", prompt: "", tools: [] };
  for (const t of arr(body?.tools)) {
    if (typeof t?.name === "string") {
      turn.tools.push({ name: t.name, schema: t.input_schema ?? {}, custom: false });
    }
  }
  for (const m of arr(body?.messages)) {
    if (m?.role !== "user") continue;
    const results = arr(m.content).filter((b) => b?.type === "tool_result");
    if (results.length) {
      turn.toolResult = resultText(results.at(-1).content);
      continue;
    }
    const t = texts(m.content);
    if (t.length) {
      turn.prompt = pickPrompt(t);
      turn.toolResult = undefined;
    }
  }
  return turn;
}

function geminiTurn(body: Json, model: string): Turn {
  const turn: Turn = { model, prompt: "", tools: [] };
  for (const t of arr(body?.tools)) {
    for (const f of arr(t?.functionDeclarations)) {
      if (typeof f?.name === "string") {
        turn.tools.push({
          name: f.name,
          schema: f.parametersJsonSchema ?? f.parameters ?? {},
          custom: false,
        });
      }
    }
  }
  for (const c of arr(body?.contents)) {
    if (c?.role !== undefined && c.role !== "user") continue;
    const responses = arr(c.parts).filter((p) => isObject(p?.functionResponse));
    if (responses.length) {
      const r = responses.at(-1).functionResponse.response;
      turn.toolResult = resultText(isObject(r) && "output" in r ? r.output : r);
      continue;
    }
    const t = texts(c.parts);
    if (t.length) {
      turn.prompt = pickPrompt(t);
      turn.toolResult = undefined;
    }
  }
  const config = body?.generationConfig;
  if (config?.responseMimeType === "application/json") {
    turn.jsonSchema = config.responseJsonSchema ?? config.responseSchema ?? {};
  }
  return turn;
}

/** What the fake model answers to a turn. */
function decide(turn: Turn): Reply {
  if (turn.toolResult !== undefined) {
    return { kind: "text", text: toolAnswerFor(quoteOf(turn.toolResult)) };
  }
  const wanted = new RegExp(`${TOOL_MARKER}(\\S+)`).exec(turn.prompt);
  if (wanted && turn.jsonSchema === undefined) {
    const call = toolCall(turn.tools, wanted[1].replace(/[.,;:)'"`]+$/, ""));
    if (call) return call;
    const names = turn.tools.map((t) => t.name).join(", ") || "none";
    return { kind: "text", text: `FAKE MODEL: no shell or read tool offered (tools: ${names})` };
  }
  if (turn.jsonSchema !== undefined) {
    return { kind: "text", text: JSON.stringify(instanceOf(turn.jsonSchema)) };
  }
  return { kind: "text", text: answerFor(turn.prompt) };
}

/** A call of the most suitable offered tool that shows the file at `path`. */
function toolCall(tools: ToolSpec[], path: string): Reply | undefined {
  for (const name of SHELL_TOOLS) {
    const tool = tools.find((t) => t.name === name);
    if (!tool) continue;
    const command = `cat ${path}`;
    if (tool.custom) {
      // Codex's freeform `exec` tool takes JavaScript that calls its nested tools.
      const code = `const r = await tools.exec_command({ cmd: ${JSON.stringify(command)} });\n` +
        `text(typeof r === "string" ? r : r.output ?? JSON.stringify(r));`;
      return { kind: "tool", name, args: {}, custom: code };
    }
    const props = isObject(tool.schema?.properties) ? tool.schema.properties : {};
    if ("commands" in props) return { kind: "tool", name, args: { commands: [command] } };
    const key = "cmd" in props && !("command" in props) ? "cmd" : "command";
    const args: Record<string, unknown> = {
      [key]: props[key]?.type === "array" ? ["cat", path] : command,
    };
    if ("description" in props) args.description = "Show the note file";
    return { kind: "tool", name, args };
  }
  for (const name of READ_TOOLS) {
    const tool = tools.find((t) => t.name === name);
    if (!tool) continue;
    const props = isObject(tool.schema?.properties) ? Object.keys(tool.schema.properties) : [];
    const key = props.find((k) => /path/i.test(k)) ?? "path";
    return { kind: "tool", name, args: { [key]: path } };
  }
  return undefined;
}

/** A minimal value that satisfies a JSON Schema (first enum value, required properties). */
function instanceOf(schema: Json): unknown {
  if (!isObject(schema)) return null;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const type = String(Array.isArray(schema.type) ? schema.type[0] : schema.type ?? "")
    .toLowerCase();
  if (type === "object" || isObject(schema.properties)) {
    const out: Record<string, unknown> = {};
    const props = isObject(schema.properties) ? schema.properties : {};
    for (const [k, v] of Object.entries(props)) out[k] = instanceOf(v);
    return out;
  }
  if (type === "array") return [];
  if (type === "string") return "fake";
  if (type === "number" || type === "integer") return schema.minimum ?? 1;
  if (type === "boolean") return false;
  return null;
}

// ---------------------------------------------------------------------------------------------
// OpenAI Responses API

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

function halves(text: string): [string, string] {
  const half = Math.ceil(text.length / 2);
  return [text.slice(0, half), text.slice(half)];
}

/** The SSE events of one Responses API turn answering with `text`. */
export function responseEvents(text: string, model = "fake-model"): string[] {
  const id = "resp_fake1";
  const msg = { id: "msg_fake1", type: "message", role: "assistant" };
  const base = { id, object: "response", created_at: 1700000000, model };
  const done = {
    ...msg,
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  };
  const [a, b] = halves(text);
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    sse(type, { ...data, sequence_number: seq++ });
  return [
    ev("response.created", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...msg, status: "in_progress", content: [] },
    }),
    ev("response.content_part.added", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    }),
    ev("response.output_text.delta", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      delta: a,
    }),
    ev("response.output_text.delta", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      delta: b,
    }),
    ev("response.output_text.done", { item_id: msg.id, output_index: 0, content_index: 0, text }),
    ev("response.output_item.done", { output_index: 0, item: done }),
    ev("response.completed", {
      response: { ...base, status: "completed", output: [done], usage: USAGE },
    }),
  ];
}

/** The output item of a Responses tool call (function_call, or custom_tool_call). */
function responsesCallItem(reply: Reply & { kind: "tool" }, status: string, empty = false) {
  const base = { id: "fc_fake1", status, call_id: "call_fake1", name: reply.name };
  if (reply.custom !== undefined) {
    return { ...base, type: "custom_tool_call", input: empty ? "" : reply.custom };
  }
  return { ...base, type: "function_call", arguments: empty ? "" : JSON.stringify(reply.args) };
}

function responsesToolEvents(reply: Reply & { kind: "tool" }, model: string): string[] {
  const base = { id: "resp_fake2", object: "response", created_at: 1700000000, model };
  const done = responsesCallItem(reply, "completed");
  const whole = reply.custom ?? JSON.stringify(reply.args);
  const [a, b] = halves(whole);
  const kind = reply.custom !== undefined ? "custom_tool_call_input" : "function_call_arguments";
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    sse(type, { ...data, sequence_number: seq++ });
  const piece = { item_id: done.id, output_index: 0 };
  return [
    ev("response.created", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.output_item.added", {
      output_index: 0,
      item: responsesCallItem(reply, "in_progress", true),
    }),
    ev(`response.${kind}.delta`, { ...piece, delta: a }),
    ev(`response.${kind}.delta`, { ...piece, delta: b }),
    ev(
      `response.${kind}.done`,
      reply.custom !== undefined ? { ...piece, input: whole } : { ...piece, arguments: whole },
    ),
    ev("response.output_item.done", { output_index: 0, item: done }),
    ev("response.completed", {
      response: { ...base, status: "completed", output: [done], usage: USAGE },
    }),
  ];
}

function responsesJson(reply: Reply, model: string): Record<string, unknown> {
  const output = reply.kind === "tool" ? [responsesCallItem(reply, "completed")] : [{
    id: "msg_fake1",
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: reply.text, annotations: [] }],
  }];
  return {
    id: "resp_fake1",
    object: "response",
    created_at: 1700000000,
    model,
    status: "completed",
    output,
    usage: USAGE,
  };
}

// ---------------------------------------------------------------------------------------------
// OpenAI Chat Completions

function chatEvents(reply: Reply, model: string, withUsage: boolean): string[] {
  const meta = {
    id: "chatcmpl-fake1",
    object: "chat.completion.chunk",
    created: 1700000000,
    model,
  };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${
      JSON.stringify({
        ...meta,
        choices: [{ index: 0, delta, finish_reason: finish }],
        ...(withUsage ? { usage: null } : {}),
      })
    }\n\n`;
  const out = [chunk({ role: "assistant", content: "" })];
  if (reply.kind === "text") {
    for (const piece of halves(reply.text)) out.push(chunk({ content: piece }));
    out.push(chunk({}, "stop"));
  } else {
    const [a, b] = halves(JSON.stringify(reply.args));
    out.push(chunk({
      tool_calls: [{
        index: 0,
        id: "call_fake1",
        type: "function",
        function: { name: reply.name, arguments: a },
      }],
    }));
    out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: b } }] }));
    out.push(chunk({}, "tool_calls"));
  }
  if (withUsage) {
    out.push(`data: ${JSON.stringify({ ...meta, choices: [], usage: CHAT_USAGE })}\n\n`);
  }
  out.push("data: [DONE]\n\n");
  return out;
}

function chatJson(reply: Reply, model: string): Record<string, unknown> {
  const message = reply.kind === "text"
    ? { role: "assistant", content: reply.text, refusal: null }
    : {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: "call_fake1",
        type: "function",
        function: { name: reply.name, arguments: JSON.stringify(reply.args) },
      }],
    };
  return {
    id: "chatcmpl-fake1",
    object: "chat.completion",
    created: 1700000000,
    model,
    choices: [{
      index: 0,
      message,
      finish_reason: reply.kind === "text" ? "stop" : "tool_calls",
    }],
    usage: CHAT_USAGE,
  };
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

function anthropicEvents(reply: Reply, model: string): string[] {
  const ev = (type: string, data: Record<string, unknown>) => sse(type, data);
  const out = [
    ev("message_start", {
      message: {
        id: "msg_fake1",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...ANTHROPIC_USAGE, output_tokens: 1 },
      },
    }),
  ];
  if (reply.kind === "text") {
    out.push(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
    out.push(ev("ping", {}));
    for (const piece of halves(reply.text)) {
      out.push(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: piece } }));
    }
  } else {
    out.push(ev("content_block_start", {
      index: 0,
      content_block: { type: "tool_use", id: "toolu_fake1", name: reply.name, input: {} },
    }));
    out.push(ev("ping", {}));
    for (const piece of halves(JSON.stringify(reply.args))) {
      out.push(ev("content_block_delta", {
        index: 0,
        delta: { type: "input_json_delta", partial_json: piece },
      }));
    }
  }
  out.push(ev("content_block_stop", { index: 0 }));
  out.push(ev("message_delta", {
    delta: { stop_reason: reply.kind === "text" ? "end_turn" : "tool_use", stop_sequence: null },
    usage: { output_tokens: ANTHROPIC_USAGE.output_tokens },
  }));
  out.push(ev("message_stop", {}));
  return out;
}

function anthropicJson(reply: Reply, model: string): Record<string, unknown> {
  return {
    id: "msg_fake1",
    type: "message",
    role: "assistant",
    model,
    content: reply.kind === "text"
      ? [{ type: "text", text: reply.text }]
      : [{ type: "tool_use", id: "toolu_fake1", name: reply.name, input: reply.args }],
    stop_reason: reply.kind === "text" ? "end_turn" : "tool_use",
    stop_sequence: null,
    usage: ANTHROPIC_USAGE,
  };
}

// ---------------------------------------------------------------------------------------------
// Gemini (Developer API; Code Assist wraps the same bodies)

/** The `GenerateContentResponse` chunks of one answer; usage on the last one. */
function geminiChunks(reply: Reply, model: string): Record<string, unknown>[] {
  const meta = { modelVersion: model, responseId: "fake-gemini-1" };
  const candidate = (parts: unknown[], last: boolean) => ({
    candidates: [{
      content: { role: "model", parts },
      index: 0,
      ...(last ? { finishReason: "STOP" } : {}),
    }],
    ...(last ? { usageMetadata: GEMINI_USAGE } : {}),
    ...meta,
  });
  if (reply.kind === "tool") {
    return [candidate([{ functionCall: { name: reply.name, args: reply.args } }], true)];
  }
  const [a, b] = halves(reply.text);
  return [candidate([{ text: a }], false), candidate([{ text: b }], true)];
}

/** One JSON reply made of the chunks (what a non-streamed call returns). */
function geminiJson(reply: Reply, model: string): Record<string, unknown> {
  const parts = reply.kind === "tool"
    ? [{ functionCall: { name: reply.name, args: reply.args } }]
    : [{ text: reply.text }];
  return {
    candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }],
    usageMetadata: GEMINI_USAGE,
    modelVersion: model,
    responseId: "fake-gemini-1",
  };
}

// ---------------------------------------------------------------------------------------------
// The server

/** Deterministic non-UTF-8 bytes. */
export function binaryBytes(n = 1024): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + 7) & 0xff;
  out[0] = 0xff;
  out[1] = 0xfe;
  return out;
}

function gzip(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(gzipSync(enc.encode(text)));
}

export function brotli(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(brotliCompressSync(enc.encode(text)));
}

const NO_TRANSFORM = { "cache-control": "no-transform" };

/** Which API a request speaks, from its path (query ignored); undefined for other calls. */
export function apiOf(method: string, path: string): Api | undefined {
  if (method !== "POST") return undefined;
  if (/\/chat\/completions$/.test(path)) return "chat";
  if (/\/messages$/.test(path)) return "anthropic";
  if (/:(stream)?[gG]enerateContent$/.test(path)) return "gemini";
  return "responses";
}

/** A JSON reply for the calls that are not model turns, or undefined. */
function otherCall(req: Request, url: URL): Response | undefined {
  const path = url.pathname;
  const json = (v: unknown) => Response.json(v, { headers: NO_TRANSFORM });
  if (req.method === "GET" && /^\/v1\/models\/?$/.test(path)) {
    if (req.headers.get("anthropic-version")) {
      const model = { type: "model", id: "claude-fake", display_name: "Claude Fake" };
      return json({ data: [model], has_more: false, first_id: model.id, last_id: model.id });
    }
    const model = { id: "fake-model", object: "model", created: 1700000000, owned_by: "probe" };
    return json({ object: "list", data: [model] });
  }
  if (req.method === "GET" && /^\/v1(beta)?\/models\/?$/.test(path)) {
    return json({
      models: [{
        name: "models/gemini-fake",
        displayName: "Gemini Fake",
        supportedGenerationMethods: ["generateContent", "streamGenerateContent"],
      }],
    });
  }
  if (req.method === "POST" && /\/messages\/count_tokens$/.test(path)) {
    return json({ input_tokens: 42 });
  }
  if (req.method === "POST" && /:countTokens$/.test(path)) return json({ totalTokens: 42 });
  return subscriptionCall(req, path) ?? copilotCall(req, path);
}

/** The model GitHub Copilot's fake account offers (Chat Completions, tools). */
export const COPILOT_MODEL = "gpt-5.4";

/**
 * GitHub Copilot CLI's account calls on api.github.com and its Copilot API's model list and
 * MCP server (api.githubcopilot.com): a signed-in individual plan with one chat model that
 * takes tools. Its remote MCP server is not there (404), as when GitHub's is down.
 */
function copilotCall(req: Request, path: string): Response | undefined {
  const json = (v: unknown) => Response.json(v, { headers: NO_TRANSFORM });
  if (req.method === "GET" && path === "/copilot_internal/user") {
    return json({
      login: "probe-test",
      copilot_plan: "individual",
      access_type_sku: "free_limited_copilot",
      chat_enabled: true,
      is_mcp_enabled: false,
      endpoints: { api: "https://api.githubcopilot.com" },
    });
  }
  if (req.method === "GET" && /^\/copilot_internal\//.test(path)) return json({});
  if (req.method === "GET" && /^\/repos\/[^/]+\/[^/]+\/releases$/.test(path)) return json([]);
  if (req.method === "GET" && path === "/models") {
    return json({
      object: "list",
      data: [{
        id: COPILOT_MODEL,
        name: "GPT-5.4",
        object: "model",
        vendor: "Azure OpenAI",
        version: COPILOT_MODEL,
        preview: false,
        model_picker_enabled: true,
        is_chat_default: true,
        is_chat_fallback: true,
        billing: { is_premium: false, multiplier: 0 },
        policy: { state: "enabled", terms: "" },
        supported_endpoints: ["/chat/completions"],
        capabilities: {
          object: "model_capabilities",
          type: "chat",
          family: COPILOT_MODEL,
          tokenizer: "o200k_base",
          limits: {
            max_context_window_tokens: 128000,
            max_prompt_tokens: 128000,
            max_output_tokens: 16384,
          },
          supports: { streaming: true, tool_calls: true, parallel_tool_calls: true },
        },
      }],
    });
  }
  if (/^\/mcp\//.test(path)) return new Response("no MCP server here", { status: 404 });
  if (req.method === "GET" && /^\/agents\//.test(path)) return json({ enabled: false });
  return undefined;
}

/**
 * The account calls of the subscription logins (what each CLI asks before its first turn):
 * Claude Code's OAuth profile, Codex's ChatGPT workspace discovery, Gemini CLI's Code Assist
 * set-up. Other GETs and POSTs there get an empty JSON object.
 */
function subscriptionCall(req: Request, path: string): Response | undefined {
  const json = (v: unknown) => Response.json(v, { headers: NO_TRANSFORM });
  if (req.method === "GET" && path === "/api/oauth/profile") {
    return json({
      account: {
        uuid: "00000000-0000-4000-8000-000000000001",
        email: "probe@example.com",
        email_address: "probe@example.com",
        full_name: "Probe Test",
        display_name: "Probe",
        has_claude_max: true,
        has_claude_pro: false,
      },
      organization: {
        uuid: "00000000-0000-4000-8000-000000000002",
        name: "Probe Test Org",
        organization_type: "claude_max",
        billing_type: "stripe_subscription",
        rate_limit_tier: "default_claude_max_20x",
      },
    });
  }
  if (req.method === "GET" && /\/wham\/accounts\/check$/.test(path)) {
    const id = req.headers.get("chatgpt-account-id") ?? "acct-fake-0001";
    const account = {
      id,
      account_id: id,
      name: "Probe Test",
      structure: "personal",
      plan_type: "pro",
      role: "owner",
      is_default: true,
      is_deactivated: false,
      is_paid: true,
      can_access_with_session: true,
      is_fedramp_compliant_workspace: false,
      // Codex 0.171 sends its model calls to this origin (the real one: probe maps it here).
      workspace_backend_origin: "https://chatgpt.com",
      account_routing_override: "NO_CONSTRAINT",
    };
    return json({
      accounts: [account],
      account_ordering: [id],
      default_account_id: id,
      current_account_id: id,
    });
  }
  // Codex's model list under a ChatGPT login: empty, so it uses the models it knows.
  if (req.method === "GET" && /\/backend-api\/codex\/models$/.test(path)) {
    return json({ models: [] });
  }
  if (req.method === "POST" && path === "/v1internal:loadCodeAssist") {
    const tier = {
      id: "standard-tier",
      name: "Gemini Code Assist",
      userDefinedCloudaicompanionProject: false,
    };
    return json({
      currentTier: tier,
      allowedTiers: [{ ...tier, isDefault: true }],
      cloudaicompanionProject: "probe-fake-project",
    });
  }
  if (req.method === "POST" && path === "/v1internal:onboardUser") {
    return json({
      done: true,
      response: { cloudaicompanionProject: { id: "probe-fake-project" } },
    });
  }
  if (/^\/v1internal:(?!(stream)?[gG]enerateContent$)/.test(path)) return json({});
  // Gemini CLI checks its Google token before the first call.
  if (path === "/tokeninfo") {
    return json({
      azp: "probe-fake.apps.googleusercontent.com",
      aud: "probe-fake.apps.googleusercontent.com",
      scope: "https://www.googleapis.com/auth/cloud-platform openid",
      expires_in: 31536000,
      email: "probe@example.com",
      access_type: "offline",
    });
  }
  // Claude Code's other account and telemetry calls (/api/...), ChatGPT's (/backend-api/...).
  if (/^\/api\//.test(path) || /^\/backend-api\/(?!codex\/responses$)/.test(path)) {
    return json({});
  }
  return undefined;
}

export function startFakeUpstream(tls?: TlsFiles): Promise<FakeUpstream> {
  const requests: ReceivedRequest[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  let heldResolve!: () => void;
  const held = new Promise<void>((r) => heldResolve = r);

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const body = new Uint8Array(await req.arrayBuffer());
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    const received: ReceivedRequest = {
      method: req.method,
      path: url.pathname + url.search,
      headers,
      body,
    };
    requests.push(received);
    // A real agent sets no x-fake header: its prompt asks for a held stream instead.
    const mode = req.headers.get("x-fake") ??
      (new TextDecoder().decode(body).includes(HOLD_MARKER) ? "hold" : "");

    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (url.pathname === "/ws") {
        // An echo server: each message comes back prefixed; "bye" closes.
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (ev) => {
          if (ev.data === "bye") socket.close(1000, "done");
          else if (typeof ev.data === "string") socket.send(`echo: ${ev.data}`);
          else socket.send(ev.data);
        };
        return response;
      }
      return new Response("websocket not supported here", { status: 426, headers: NO_TRANSFORM });
    }
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return new Response(req.method === "HEAD" ? null : "ok\n", {
        status: 200,
        headers: { "content-type": "text/plain", ...NO_TRANSFORM },
      });
    }
    if (url.pathname === "/oauth/token") {
      return Response.json({
        access_token: "at-SECRET-111",
        refresh_token: "rt-SECRET-222",
        id_token: "it-SECRET-333",
        token_type: "Bearer",
      }, {
        headers: { "set-cookie": "session=cookie-SECRET-444; Path=/", ...NO_TRANSFORM },
      });
    }
    if (mode === "binary") {
      return new Response(binaryBytes(), {
        headers: { "content-type": "application/octet-stream", ...NO_TRANSFORM },
      });
    }
    if (mode === "big") {
      const size = Number(req.headers.get("x-size") ?? "100000");
      return Response.json({ id: req.headers.get("x-id"), pad: "x".repeat(size) }, {
        headers: NO_TRANSFORM,
      });
    }
    const other = otherCall(req, url);
    if (other) return other;

    let parsed: Json = undefined;
    try {
      // Codex on a ChatGPT login sends its model requests zstd-compressed.
      const encoding = req.headers.get("content-encoding");
      const raw = encoding === "br"
        ? brotliDecompressSync(body)
        : encoding === "zstd"
        ? zstdDecompressSync(body)
        : body;
      parsed = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      // not JSON: answer anyway
    }
    // Anything else (a GET of an unknown path too) gets a Responses API answer, as before.
    const api = apiOf(req.method, url.pathname) ?? "responses";
    received.api = api;
    let events: string[];
    let json: unknown;
    let stream: boolean;
    if (api === "gemini") {
      // Code Assist (`/v1internal:…`) wraps the request and each response in an envelope.
      const wrapped = url.pathname.startsWith("/v1internal:");
      const inner = wrapped ? parsed?.request : parsed;
      const model = wrapped
        ? String(parsed?.model ?? "gemini-fake")
        : /\/models\/([^/:]+):/.exec(url.pathname)?.[1] ?? "gemini-fake";
      const turn = geminiTurn(inner, model);
      const reply = decide(turn);
      received.model = model;
      received.reply = reply.kind;
      received.usage = true;
      const wrap = (r: Record<string, unknown>) =>
        wrapped ? { response: r, traceId: "fake-trace-1" } : r;
      stream = url.pathname.endsWith(":streamGenerateContent");
      const chunks = geminiChunks(reply, model).map(wrap);
      if (stream && url.searchParams.get("alt") !== "sse") {
        json = chunks; // without alt=sse the stream is one JSON array
        stream = false;
      }
      json ??= wrap(geminiJson(reply, model));
      events = chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`);
    } else {
      const turn = api === "chat"
        ? chatTurn(parsed)
        : api === "anthropic"
        ? anthropicTurn(parsed)
        : responsesTurn(parsed);
      const reply = decide(turn);
      const model = turn.model;
      received.model = model;
      received.reply = reply.kind;
      stream = parsed?.stream === true;
      received.usage = true;
      if (api === "chat") {
        const withUsage = parsed?.stream_options?.include_usage === true;
        received.usage = !stream || withUsage;
        events = chatEvents(reply, model, withUsage);
        json = chatJson(reply, model);
      } else if (api === "anthropic") {
        events = anthropicEvents(reply, model);
        json = anthropicJson(reply, model);
      } else {
        events = reply.kind === "text"
          ? responseEvents(reply.text, model)
          : responsesToolEvents(reply, model);
        json = responsesJson(reply, model);
      }
    }

    if (!stream) {
      const text = JSON.stringify(json);
      if (mode === "gzip" || mode === "br") {
        return new Response(mode === "gzip" ? gzip(text) : brotli(text), {
          headers: { "content-type": "application/json", "content-encoding": mode },
        });
      }
      return new Response(text, {
        headers: { "content-type": "application/json", ...NO_TRANSFORM },
      });
    }

    const sseHeaders = { "content-type": "text/event-stream", ...NO_TRANSFORM };
    if (mode === "gzip") {
      return new Response(gzip(events.join("")), {
        headers: { ...sseHeaders, "content-encoding": "gzip" },
      });
    }
    const body2 = new ReadableStream<Uint8Array>({
      async start(controller) {
        if (mode === "hold" || mode === "drop") {
          controller.enqueue(enc.encode(events[0]));
          if (mode === "drop") controller.enqueue(enc.encode(events[1]));
          heldResolve();
          await released;
          if (mode === "drop") {
            controller.error(new Error("fake upstream dropped the stream (as asked)"));
            return;
          }
          for (const e of events.slice(1)) controller.enqueue(enc.encode(e));
          controller.close();
          return;
        }
        for (const e of events) controller.enqueue(enc.encode(e));
        controller.close();
      },
    });
    return new Response(body2, { headers: sseHeaders });
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      ...(tls
        ? { cert: Deno.readTextFileSync(tls.cert), key: Deno.readTextFileSync(tls.key) }
        : {}),
    }, handler);
    const port = server.addr.port;
    const close = async () => {
      release();
      await server.shutdown();
    };
    resolve({
      url: `${tls ? "https" : "http"}://127.0.0.1:${port}/`,
      port,
      requests,
      held,
      release,
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = await Deno.makeTempDir({ prefix: "probe-tls-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=probe test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  return { dir, caFile: `${dir}/ca.pem`, cert: `${dir}/server.pem`, key: `${dir}/server.key` };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes as they arrived (chunked framing removed, no decompression). */
  body: Uint8Array;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Called with each body chunk as it arrives. */
  onChunk?: (chunk: Uint8Array) => void;
}

/** One HTTP/1.1 request with node:http (no decompression, no connection reuse). */
export function rawRequest(baseUrl: string, req: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(req.path ?? "/", baseUrl);
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: url.hostname,
      port: Number(url.port),
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      headers: { connection: "close", ...(req.headers ?? {}) },
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Buffer) => {
        const chunk = new Uint8Array(c);
        chunks.push(chunk);
        req.onChunk?.(chunk);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: new Uint8Array(Buffer.concat(chunks)),
        }));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/**
 * Opens a `hold` stream (`POST /v1/responses` with `body`) that the fake upstream at `baseUrl`
 * holds after its first event, and resolves once the client has that event (or the request
 * failed before it). `done` settles when the request ends: `status N`, or `failed: why`.
 */
export async function openHeldStream(
  baseUrl: string,
  body: string,
): Promise<{ done: Promise<string> }> {
  let first!: () => void;
  const gotFirst = new Promise<void>((r) => first = r);
  const done = rawRequest(baseUrl, {
    method: "POST",
    path: "/v1/responses",
    headers: { "content-type": "application/json", "x-fake": "hold" },
    body,
    onChunk: () => first(),
  }).then((r) => `status ${r.status}`, (err: Error) => `failed: ${err.message}`);
  await Promise.race([gotFirst, done]);
  return { done };
}

export interface ConnectProxy extends AsyncDisposable {
  url: string;
  port: number;
  /** Every CONNECT it got: target and the Proxy-Authorization header. */
  connects: { target: string; auth: string | null }[];
  close(): Promise<void>;
}

/** A small HTTP CONNECT proxy; with `credentials` ("user:pass") it demands Basic auth. */
export function startConnectProxy(credentials?: string): ConnectProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connects: ConnectProxy["connects"] = [];
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const expected = credentials ? "Basic " + btoa(credentials) : undefined;

  const handle = async (conn: Deno.Conn) => {
    conns.add(conn);
    let upstream: Deno.Conn | undefined;
    try {
      let head = new Uint8Array(0);
      const buf = new Uint8Array(4096);
      let end = -1;
      while (end < 0) {
        const n = await conn.read(buf);
        if (n === null) return;
        const merged = new Uint8Array(head.length + n);
        merged.set(head);
        merged.set(buf.subarray(0, n), head.length);
        head = merged;
        end = new TextDecoder().decode(head).indexOf("\r\n\r\n");
      }
      const text = new TextDecoder().decode(head);
      const lines = text.slice(0, end).split("\r\n");
      const [method, target] = lines[0].split(" ");
      const auth = lines.slice(1).find((l) => /^proxy-authorization:/i.test(l))
        ?.replace(/^[^:]+:\s*/, "") ?? null;
      connects.push({ target, auth });
      if (method !== "CONNECT") {
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"),
        );
        return;
      }
      if (expected && auth !== expected) {
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic\r\ncontent-length: 0\r\n\r\n",
        ));
        return;
      }
      const [host, p] = [
        target.slice(0, target.lastIndexOf(":")),
        target.slice(target.lastIndexOf(":") + 1),
      ];
      upstream = await Deno.connect({ hostname: host.replace(/^\[|\]$/g, ""), port: Number(p) });
      conns.add(upstream);
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      const rest = head.subarray(end + 4);
      if (rest.length) await upstream.write(rest);
      await Promise.all([pipe(conn, upstream), pipe(upstream, conn)]);
    } catch {
      // a closed side ends the tunnel
    } finally {
      for (const c of [conn, upstream]) {
        if (!c) continue;
        conns.delete(c);
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    }
  };

  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const t = handle(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // listener closed
    }
  })();

  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed already
    }
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await loop;
    await Promise.allSettled([...tasks]);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } finally {
    try {
      await to.closeWrite();
    } catch {
      // closed already
    }
  }
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
