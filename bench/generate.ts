/**
 * Deterministic generator of realistic captures: multi-turn agent sessions in which every
 * request resends the growing history, SSE responses with one event per token-sized delta,
 * reasoning, tool calls and usage; OpenAI Responses and Anthropic Messages sessions mixed.
 *
 * Used by the benchmarks (large files) and by tests (a 60-turn session whose report must stay
 * small yet complete). Run directly to write a file:
 *   deno run -A bench/generate.ts OUT.jsonl [--mb 100] [--turns 60 | --shape short]
 *     [--format mixed] [--seed 1]
 */
import { parseArgs } from "node:util";
import { rng } from "../tests/tools/data.ts";

export type Format = "responses" | "anthropic" | "mixed";

/**
 * Changes whenever the same options make different captures (2: an agent's tools are drawn
 * once per capture, not per session), so saved benchmark captures are made again.
 */
export const GENERATOR_VERSION = 2;

/**
 * Requests per session of the benchmark's capture shapes: "long" sessions resend a history
 * that grows for 60 requests; "short" ones make thousands of conversations of a few requests
 * in a large file (each a new conversation the analysis must not remember for ever).
 */
export const SHAPES = { long: 60, short: 3 } as const;
export type Shape = keyof typeof SHAPES;

export interface GenerateOptions {
  seed?: number;
  /** Requests per session. */
  turns?: number;
  format?: Format;
  /** Stop after the session during which this many bytes were produced. */
  targetBytes?: number;
  /** Number of sessions, when no byte target is given. */
  sessions?: number;
}

/** What the report of a generated capture must contain: every new thing the agent saw or said. */
export interface Manifest {
  userMessages: string[];
  answers: string[];
  toolCalls: { name: string; marker: string }[];
}

const WORDS = (
  "the agent reads file source test build function module parser stream error value " +
  "request response token model tool call output input change refactor check type " +
  "index buffer line event delta usage cache prompt system message result report"
).split(" ");

function sentence(r: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  const s = out.join(" ");
  return s[0].toUpperCase() + s.slice(1) + ".";
}

function paragraph(r: () => number, sentences: number): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) out.push(sentence(r, 8 + Math.floor(r() * 10)));
  return out.join(" ");
}

/** Token-sized pieces (3–6 characters), as model streams deliver them. */
function tokens(r: () => number, text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length;) {
    const n = 3 + Math.floor(r() * 4);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

/** One content block of a Messages stream: its start, a delta event per delta, its stop. */
function streamedBlock(index: number, block: unknown, deltas: unknown[]): [string, unknown][] {
  return [
    ["content_block_start", { type: "content_block_start", index, content_block: block }],
    ...deltas.map((delta): [string, unknown] => [
      "content_block_delta",
      { type: "content_block_delta", index, delta },
    ]),
    ["content_block_stop", { type: "content_block_stop", index }],
  ];
}

function systemPrompt(r: () => number): string {
  const parts = ["You are a coding agent working in the user's repository."];
  for (let i = 0; i < 40; i++) parts.push(`## Rule ${i + 1}\n${paragraph(r, 3)}`);
  return parts.join("\n\n");
}

const TOOL_NAMES = ["shell", "read_file", "write_file", "list_dir", "search", "apply_patch"];

/** An agent's tools: the same in every session it starts, as real agents send them. */
interface ToolDraft {
  name: string;
  description: string;
  schema: ReturnType<typeof toolSchema>;
}

function toolDrafts(r: () => number): ToolDraft[] {
  return TOOL_NAMES.map((name) => ({
    name,
    description: paragraph(r, 2),
    schema: toolSchema(r, name),
  }));
}

function toolSchema(r: () => number, name: string) {
  return {
    type: "object",
    properties: {
      path: { type: "string", description: sentence(r, 10) },
      command: { type: "array", items: { type: "string" }, description: sentence(r, 12) },
      [`${name}_options`]: { type: "object", description: paragraph(r, 2) },
    },
    required: ["path"],
  };
}

/** UTF-8 length of a string (the generator's text is mostly ASCII). */
function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** A streamed response as probe's recorder writes it: body text and its decoded size. */
function sseResponse(events: [string, unknown][]) {
  const body = sse(events);
  return {
    status_code: 200,
    headers: { "content-type": "text/event-stream" },
    body,
    body_size: byteLength(body),
  };
}

function sse(events: [string, unknown][]): string {
  let out = "";
  for (const [type, data] of events) out += `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  return out;
}

/**
 * One model call as a capture line: the session's clock moves on by 1.5-4.5 s (one draw from
 * its random source) and the response's first byte comes `firstByte` s after the start.
 */
function exchangeLine(
  ctx: SessionContext,
  turn: number,
  call: {
    url: string;
    headers: Record<string, string>;
    body: unknown;
    events: [string, unknown][];
    firstByte: number;
  },
): string {
  const start = ctx.t;
  ctx.t += 1.5 + ctx.r() * 3;
  return JSON.stringify({
    timestamp: start,
    id: `${ctx.id}-${turn}`,
    proxy: "api",
    request: {
      method: "POST",
      url: call.url,
      headers: call.headers,
      body: call.body,
      body_size: byteLength(JSON.stringify(call.body)),
    },
    response: sseResponse(call.events),
    timing: { start, first_byte: start + call.firstByte, end: ctx.t - 0.1 },
  });
}

interface Turn {
  user?: string;
  toolResult?: { callId: string; name: string; output: string };
}

interface SessionContext {
  r: () => number;
  tools: ToolDraft[];
  id: string;
  system: string;
  manifest: Manifest;
  t: number;
}

/** One Responses API session: yields JSONL lines. */
function* responsesSession(ctx: SessionContext, turns: number): Generator<string> {
  const { r } = ctx;
  const tools = ctx.tools.map((t) => ({
    type: "function",
    name: t.name,
    description: t.description,
    strict: false,
    parameters: t.schema,
  }));
  const input: unknown[] = [];
  let next: Turn = { user: `Task ${ctx.id}: ${sentence(r, 12)}` };
  for (let turn = 0; turn < turns; turn++) {
    if (next.user) {
      input.push({
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: next.user }],
      });
      ctx.manifest.userMessages.push(next.user);
    } else if (next.toolResult) {
      input.push({
        type: "function_call_output",
        call_id: next.toolResult.callId,
        output: next.toolResult.output,
      });
    }
    const body = {
      model: "gpt-5-codex",
      instructions: ctx.system,
      input: [...input],
      tools,
      tool_choice: "auto",
      parallel_tool_calls: false,
      reasoning: { effort: "medium", summary: "auto" },
      store: false,
      stream: true,
      include: ["reasoning.encrypted_content"],
      prompt_cache_key: ctx.id,
    };
    const respId = `resp_${ctx.id}_${turn}`;
    const events: [string, unknown][] = [];
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>) =>
      events.push([type, { type, sequence_number: seq++, ...data }]);
    const base = { id: respId, object: "response", status: "in_progress", model: "gpt-5-codex" };
    ev("response.created", { response: { ...base, output: [] } });
    ev("response.in_progress", { response: { ...base, output: [] } });
    const summary = sentence(r, 14);
    const reasoningItem = {
      id: `rs_${turn}`,
      type: "reasoning",
      summary: [{ type: "summary_text", text: summary }],
      encrypted_content: "gAAAAAB" + "x".repeat(400),
    };
    ev("response.output_item.added", {
      output_index: 0,
      item: { id: `rs_${turn}`, type: "reasoning", summary: [] },
    });
    for (const d of tokens(r, summary)) {
      ev("response.reasoning_summary_text.delta", {
        item_id: `rs_${turn}`,
        output_index: 0,
        summary_index: 0,
        delta: d,
      });
    }
    ev("response.output_item.done", { output_index: 0, item: reasoningItem });
    let item: Record<string, unknown>;
    const callTool = turn % 3 !== 2 && turn < turns - 1;
    if (callTool) {
      const name = TOOL_NAMES[turn % TOOL_NAMES.length];
      const marker = `m${ctx.id}x${turn}`;
      const args = JSON.stringify({
        path: `src/${marker}.ts`,
        command: ["cat", `src/${marker}.ts`],
      });
      item = {
        id: `fc_${turn}`,
        type: "function_call",
        status: "completed",
        call_id: `call_${marker}`,
        name,
        arguments: args,
      };
      ev("response.output_item.added", { output_index: 1, item: { ...item, arguments: "" } });
      for (const d of tokens(r, args)) {
        ev("response.function_call_arguments.delta", {
          item_id: `fc_${turn}`,
          output_index: 1,
          delta: d,
        });
      }
      ev("response.function_call_arguments.done", {
        item_id: `fc_${turn}`,
        output_index: 1,
        arguments: args,
      });
      ctx.manifest.toolCalls.push({ name, marker });
      next = { toolResult: { callId: `call_${marker}`, name, output: paragraph(r, 6) } };
    } else {
      const text = `Answer ${ctx.id}.${turn}: ${paragraph(r, 4)}`;
      item = {
        id: `msg_${turn}`,
        type: "message",
        role: "assistant",
        status: "completed",
        content: [{ type: "output_text", text, annotations: [] }],
      };
      ev("response.output_item.added", { output_index: 1, item: { ...item, content: [] } });
      for (const d of tokens(r, text)) {
        ev("response.output_text.delta", {
          item_id: `msg_${turn}`,
          output_index: 1,
          content_index: 0,
          delta: d,
        });
      }
      ev("response.output_text.done", {
        item_id: `msg_${turn}`,
        output_index: 1,
        content_index: 0,
        text,
      });
      ctx.manifest.answers.push(text);
      next = { user: `Next ${ctx.id}.${turn}: ${sentence(r, 10)}` };
    }
    ev("response.output_item.done", { output_index: 1, item });
    const inputTokens = 2000 + JSON.stringify(input).length / 4 | 0;
    const usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: Math.max(0, inputTokens - 600) },
      output_tokens: 120,
      output_tokens_details: { reasoning_tokens: 40 },
      total_tokens: inputTokens + 120,
    };
    ev("response.completed", {
      response: { ...base, status: "completed", output: [reasoningItem, item], usage },
    });
    input.push(reasoningItem, item);
    yield exchangeLine(ctx, turn, {
      url: "https://api.openai.com/v1/responses",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer [REDACTED:0badc0de]",
      },
      body,
      events,
      firstByte: 0.3,
    });
  }
}

/** One Anthropic Messages session: yields JSONL lines. */
function* anthropicSession(ctx: SessionContext, turns: number): Generator<string> {
  const { r } = ctx;
  const tools = ctx.tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.schema,
  }));
  const messages: { role: string; content: unknown[] }[] = [];
  let next: Turn = { user: `Task ${ctx.id}: ${sentence(r, 12)}` };
  for (let turn = 0; turn < turns; turn++) {
    if (next.user) {
      messages.push({ role: "user", content: [{ type: "text", text: next.user }] });
      ctx.manifest.userMessages.push(next.user);
    } else if (next.toolResult) {
      messages.push({
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: next.toolResult.callId,
          content: next.toolResult.output,
        }],
      });
    }
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 32000,
      system: [{ type: "text", text: ctx.system, cache_control: { type: "ephemeral" } }],
      messages: structuredClone(messages),
      tools,
      thinking: { type: "enabled", budget_tokens: 4000 },
      stream: true,
      metadata: { user_id: `user_${ctx.id}` },
    };
    const events: [string, unknown][] = [];
    const inputTokens = 10 + (JSON.stringify(messages).length / 4 | 0);
    events.push(["message_start", {
      type: "message_start",
      message: {
        id: `msg_${ctx.id}_${turn}`,
        type: "message",
        role: "assistant",
        model: "claude-sonnet-4-5",
        content: [],
        stop_reason: null,
        usage: {
          input_tokens: 10,
          cache_creation_input_tokens: 200,
          cache_read_input_tokens: inputTokens,
          output_tokens: 1,
        },
      },
    }]);
    const thinking = sentence(r, 14);
    events.push(...streamedBlock(0, { type: "thinking", thinking: "" }, [
      ...tokens(r, thinking).map((d) => ({ type: "thinking_delta", thinking: d })),
      { type: "signature_delta", signature: "Eq" + "s".repeat(200) },
    ]));
    const assistant: unknown[] = [{
      type: "thinking",
      thinking,
      signature: "Eq" + "s".repeat(200),
    }];
    const callTool = turn % 3 !== 2 && turn < turns - 1;
    let stop: string;
    if (callTool) {
      const name = TOOL_NAMES[turn % TOOL_NAMES.length];
      const marker = `a${ctx.id}x${turn}`;
      const args = JSON.stringify({ path: `src/${marker}.ts` });
      events.push(...streamedBlock(
        1,
        { type: "tool_use", id: `toolu_${marker}`, name, input: {} },
        tokens(r, args).map((d) => ({ type: "input_json_delta", partial_json: d })),
      ));
      assistant.push({ type: "tool_use", id: `toolu_${marker}`, name, input: JSON.parse(args) });
      ctx.manifest.toolCalls.push({ name, marker });
      next = { toolResult: { callId: `toolu_${marker}`, name, output: paragraph(r, 6) } };
      stop = "tool_use";
    } else {
      const text = `Answer ${ctx.id}.${turn}: ${paragraph(r, 4)}`;
      events.push(...streamedBlock(
        1,
        { type: "text", text: "" },
        tokens(r, text).map((d) => ({ type: "text_delta", text: d })),
      ));
      assistant.push({ type: "text", text });
      ctx.manifest.answers.push(text);
      next = { user: `Next ${ctx.id}.${turn}: ${sentence(r, 10)}` };
      stop = "end_turn";
    }
    events.push(["message_delta", {
      type: "message_delta",
      delta: { stop_reason: stop, stop_sequence: null },
      usage: { output_tokens: 150 },
    }]);
    events.push(["message_stop", { type: "message_stop" }]);
    messages.push({ role: "assistant", content: assistant });
    yield exchangeLine(ctx, turn, {
      url: "https://api.anthropic.com/v1/messages?beta=true",
      headers: {
        "content-type": "application/json",
        "x-api-key": "[REDACTED:0badc0de]",
        "anthropic-version": "2023-06-01",
      },
      body,
      events,
      firstByte: 0.4,
    });
  }
}

/**
 * Yields the lines of a capture (without newlines) and fills `manifest` as it goes.
 */
export function* generateCapture(
  opts: GenerateOptions,
  manifest: Manifest = { userMessages: [], answers: [], toolCalls: [] },
): Generator<string> {
  const r = rng(opts.seed ?? 1);
  const turns = opts.turns ?? 60;
  const format = opts.format ?? "mixed";
  let bytes = 0;
  const system = systemPrompt(r);
  const ctx: SessionContext = {
    r,
    id: "",
    system,
    tools: toolDrafts(r),
    manifest,
    t: 1_770_000_000,
  };
  for (let s = 0;; s++) {
    if (opts.targetBytes === undefined && s >= (opts.sessions ?? 1)) return;
    if (opts.targetBytes !== undefined && bytes >= opts.targetBytes) return;
    ctx.id = `s${s}`;
    const anthropic = format === "anthropic" || (format === "mixed" && s % 2 === 1);
    const session = anthropic ? anthropicSession(ctx, turns) : responsesSession(ctx, turns);
    for (const line of session) {
      bytes += line.length + 1;
      yield line;
    }
  }
}

/** Writes a generated capture to `path`; returns the manifest. */
export async function writeCapture(path: string, opts: GenerateOptions): Promise<Manifest> {
  const manifest: Manifest = { userMessages: [], answers: [], toolCalls: [] };
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    const bytes = encoder.encode(batch.join(""));
    for (let w = 0; w < bytes.length;) w += await file.write(bytes.subarray(w));
    batch = [];
    size = 0;
  };
  for (const line of generateCapture(opts, manifest)) {
    batch.push(line + "\n");
    size += line.length;
    if (size > 4 << 20) await flush();
  }
  await flush();
  return manifest;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      mb: { type: "string" },
      turns: { type: "string" },
      shape: { type: "string" },
      format: { type: "string", default: "mixed" },
      seed: { type: "string", default: "1" },
      sessions: { type: "string", default: "1" },
    },
  });
  if (values.shape && !(values.shape in SHAPES)) {
    console.error(`generate.ts: --shape must be long or short, not "${values.shape}"`);
    Deno.exit(2);
  }
  if (positionals.length !== 1) {
    console.error(
      "usage: generate.ts OUT.jsonl [--mb N] [--turns N | --shape long|short] [--format F] " +
        "[--seed N]",
    );
    Deno.exit(2);
  }
  await writeCapture(positionals[0], {
    seed: Number(values.seed),
    turns: values.shape ? SHAPES[values.shape as Shape] : Number(values.turns ?? 60),
    format: values.format as Format,
    sessions: Number(values.sessions),
    ...(values.mb ? { targetBytes: Number(values.mb) * 1e6 } : {}),
  });
}
