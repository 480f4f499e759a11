/**
 * Exchanges → spans, per the OpenTelemetry GenAI semantic conventions: one CLIENT span per
 * model call named `{operation} {model}` with the conventions' attributes, other requests as
 * plain HTTP client spans, one trace per conversation. Conversations and token counts are the
 * analysis model's (lib/model, fed exactly as `analyze` feeds it); the per-API facts come from
 * the renderer's `genai`. Entries are taken one at a time (a file, or a capture as it is
 * written).
 */
import { lastActive } from "../idle_clock.ts";
import { advanceConversation, ConversationTracker, requestDelta } from "../conversation.ts";
import { ModelBuilder } from "../model/build.ts";
import { modelInput } from "../model/input.ts";
import type { Tokens, Turn } from "../model/types.ts";
import { NO_PRICES } from "../prices.ts";
import { responseView } from "../response_view.ts";
import type {
  Entry,
  GenAiCall,
  GenAiMessage,
  ModelCall,
  RenderedBody,
  Renderer,
} from "../types.ts";
import {
  type Attributes,
  Double,
  randomHex,
  secondsToNs,
  type Span,
  SPAN_KIND_CLIENT,
  SPAN_KIND_INTERNAL,
  STATUS_ERROR,
} from "./encode.ts";

export interface SpanBuilderOptions {
  /** The renderer of each entry (detected, or the target's). */
  rendererFor: (entry: Entry) => Renderer;
  /** Record prompts and answers (`--otlp-content`). */
  content: boolean;
  /** The agent (target name), for the analysis model's session. */
  agent?: string;
  /** The agents' own session headers (`Target.sessionHeaders`), besides the common names. */
  sessionHeaders?: readonly string[];
  /** The agent that sent an exchange, when each names its own (`Span.agent`). */
  agentOf?: (entry: Entry) => string | undefined;
}

/** Non-model spans held while no conversation has started yet, at most. */
const MAX_PENDING = 256;
/** Model call spans remembered for linking the subagents they spawn. */
const MAX_CALL_SPANS = 1024;
/** Conversations whose last input messages are kept for the content delta, at most. */
const MAX_REMEMBERED = 64;

/** The trace a conversation's spans go to, and what its previous request sent. */
interface TraceState {
  traceId: string;
  /** The conversation's first model span: where its subagent span starts. */
  first?: { spanId: string; start: number };
  /** JSON text of each input message of the previous request (content mode only). */
  lastInput?: string[];
}

export class SpanBuilder {
  readonly #opts: SpanBuilderOptions;
  readonly #conversations: ConversationTracker;
  readonly #model: ModelBuilder;
  /** By conversation number; least recently used first. */
  readonly #traces = new Map<number, TraceState>();
  #lastTrace?: string;
  #pending: Span[] = [];
  #index = 0;
  /** Model call spans by exchange index (the latest MAX_CALL_SPANS): a spawning call's span. */
  readonly #callSpans = new Map<number, { traceId: string; spanId: string }>();

  constructor(opts: SpanBuilderOptions) {
    this.#opts = opts;
    this.#conversations = new ConversationTracker(opts.sessionHeaders);
    this.#model = new ModelBuilder({
      id: "otlp",
      source: "",
      agent: opts.agent ?? "",
      // Spans carry no cost: the model is here for its subagent links.
      prices: NO_PRICES,
      // Spans need each turn as it comes, never the whole model: a live capture stays bounded.
      keep: "digest",
    });
  }

  /**
   * The spans ready for export after this entry (none while waiting for a trace), each naming
   * the agent of the exchange it stands for; a held request that names none is reported under
   * the agent of the model call that starts its trace.
   */
  add(entry: Entry): Span[] {
    const agent = this.#opts.agentOf?.(entry);
    const spans = this.#spansOf(entry, agent);
    return agent === undefined ? spans : spans.map((s) => s.agent ? s : { ...s, agent });
  }

  #spansOf(entry: Entry, agent: string | undefined): Span[] {
    this.#index++;
    const renderer = this.#opts.rendererFor(entry);
    const view = renderer.genai ? responseView(entry) : undefined;
    const response = view && renderer.genai ? renderer.renderResponse(view, entry) : undefined;
    if (response?.calls) {
      return this.#spansOfCalls(renderer, entry, response, response.calls, agent);
    }
    const found = renderer.genai?.(entry, response, this.#opts.content);
    if (!found) return this.#asHttp(entry, agent);
    const [turn] = this.#turnsOf(renderer, entry, response);
    const trace = this.#traceOf(turn?.conversation ?? -this.#index);
    const span = modelSpan(
      entry,
      this.#withSession(entry, found),
      response,
      turn?.tokens ?? null,
      trace,
      this.#opts.content,
    );
    this.#noteCallSpan(trace, span, startOf(entry));
    return [...this.#release(trace.traceId), span, ...this.#subagentSpans(startOf(entry))];
  }

  /** A session id the agent sends in a header is the conversation's id; else the body's. */
  #withSession(entry: Entry, call: GenAiCall): GenAiCall {
    const sessionId = this.#conversations.sessionId(entry.request.headers);
    return sessionId ? { ...call, conversationId: sessionId } : call;
  }

  #noteCallSpan(trace: TraceState, span: Span, start: number): void {
    trace.first ??= { spanId: span.spanId, start };
    this.#callSpans.set(this.#index, { traceId: span.traceId, spanId: span.spanId });
    if (this.#callSpans.size > MAX_CALL_SPANS) {
      this.#callSpans.delete(this.#callSpans.keys().next().value!);
    }
    this.#lastTrace = trace.traceId;
  }

  /**
   * One span per model call of an exchange that carries several (a WebSocket's turns), each
   * with its own times and tokens, in the trace of the conversation the model puts it in.
   */
  #spansOfCalls(
    renderer: Renderer,
    entry: Entry,
    response: RenderedBody,
    calls: readonly ModelCall[],
    agent: string | undefined,
  ): Span[] {
    const turns = this.#turnsOf(renderer, entry, response);
    const spans: Span[] = [];
    let released: Span[] = [];
    for (const c of calls) {
      const found = renderer.genai?.(c.entry, c.response, this.#opts.content);
      if (!found) continue;
      const turn = turns.find((t) => t.call === c.number);
      const trace = this.#traceOf(turn?.conversation ?? -this.#index);
      const span = modelSpan(
        c.entry,
        this.#withSession(entry, found),
        c.response,
        turn?.tokens ?? null,
        trace,
        this.#opts.content,
      );
      this.#noteCallSpan(trace, span, startOf(c.entry));
      released = [...released, ...this.#release(trace.traceId)];
      spans.push(span);
    }
    if (spans.length === 0) return this.#asHttp(entry, agent);
    return [...released, ...spans, ...this.#subagentSpans(endOf(entry))];
  }

  /** An exchange that is no model call: a plain HTTP span in the latest trace. */
  #asHttp(entry: Entry, agent: string | undefined): Span[] {
    const span = httpSpan(entry, this.#lastTrace ?? "");
    if (this.#lastTrace) return [span];
    this.#pending.push(agent ? { ...span, agent } : span);
    // A capture with no model call for a long time: those requests get a trace of their own.
    return this.#pending.length >= MAX_PENDING ? this.#release(randomHex(16)) : [];
  }

  /**
   * A subagent's thread is a trace of its own. Once the model links it to the tool call that
   * spawned it (when its parent resends the call, after the subagent ran), an `invoke_agent`
   * span in the subagent's trace, from its first request to now, links to that call's span.
   */
  #subagentSpans(now: number): Span[] {
    const out: Span[] = [];
    for (const { conversation, link } of this.#model.spawned()) {
      const child = this.#traces.get(conversation);
      const parent = this.#callSpans.get(link.turn);
      if (!child?.first || !parent) continue;
      out.push({
        traceId: child.traceId,
        spanId: randomHex(8),
        name: `invoke_agent ${link.toolName}`,
        kind: SPAN_KIND_INTERNAL,
        startNs: secondsToNs(child.first.start),
        endNs: secondsToNs(Math.max(now, child.first.start)),
        attributes: {
          "gen_ai.operation.name": "invoke_agent",
          "gen_ai.tool.name": link.toolName,
          "gen_ai.tool.call.id": link.callId ?? undefined,
        },
        links: [{
          traceId: parent.traceId,
          spanId: parent.spanId,
          attributes: { "probe.link.type": "spawned_by" },
        }],
      });
    }
    return out;
  }

  /** Spans still held (non-model requests of a capture without any model call). */
  finish(): Span[] {
    return this.#release(this.#lastTrace ?? randomHex(16));
  }

  #release(traceId: string): Span[] {
    const out = this.#pending.map((s) => ({ ...s, traceId }));
    this.#pending = [];
    return out;
  }

  /**
   * The model's turns of an exchange (one per model call it carries): the tracker groups
   * requests as for the report; the model splits a group into its threads.
   */
  #turnsOf(renderer: Renderer, entry: Entry, response: RenderedBody | undefined): Turn[] {
    const parts = renderer.requestParts?.(entry.request.body, entry);
    if (!parts) return [];
    const conv = this.#conversations.assign(
      parts,
      entry.request.headers,
      renderer.id,
      lastActive(entry),
    );
    // Moves the conversation on to this request, so the next one is compared with it.
    advanceConversation(conv, parts, requestDelta(parts, conv), this.#index);
    if (response?.responseId) this.#conversations.noteResponse(conv, response.responseId);
    return this.#model.add(
      modelInput(this.#index, this.#index, entry, renderer, {
        conversation: conv,
        ...(response ? { response } : {}),
        problems: [],
      }),
    );
  }

  /** The trace of a conversation (a negative number: an exchange of its own). */
  #traceOf(conversation: number): TraceState {
    let state = this.#traces.get(conversation);
    if (state) this.#traces.delete(conversation);
    else state = { traceId: randomHex(16) };
    this.#traces.set(conversation, state);
    if (this.#traces.size > MAX_REMEMBERED) {
      // Evicted conversations keep their trace id only if they come back soon enough.
      this.#traces.delete(this.#traces.keys().next().value!);
    }
    return state;
  }
}

function startOf(entry: Entry): number {
  return entry.timing?.start ?? entry.timestamp;
}

function endOf(entry: Entry): number {
  const end = entry.timing?.end ?? entry.websocket?.at(-1)?.t;
  return typeof end === "number" && end >= startOf(entry) ? end : startOf(entry);
}

/** server.address and server.port of the URL (the scheme's port when none is written). */
function server(url: string): Attributes {
  try {
    const u = new URL(url);
    const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
    return { "server.address": u.hostname, "server.port": port };
  } catch {
    return {};
  }
}

/** `error.type` of a failed exchange, or undefined when it succeeded. */
function errorType(entry: Entry, apiType: string | undefined): string | undefined {
  if (entry.incomplete) return "incomplete";
  const status = entry.response?.status_code;
  if (entry.error && (status === undefined || status === 502)) {
    return /time(d)? ?out/i.test(entry.error) ? "timeout" : "connection_error";
  }
  if (status !== undefined && status >= 400) return apiType ?? String(status);
  if (!entry.response) return "no_response";
  return apiType;
}

function httpAttributes(entry: Entry): Attributes {
  return {
    "http.request.method": entry.request.method.toUpperCase(),
    "url.full": entry.request.url,
    ...server(entry.request.url),
    "http.response.status_code": entry.response?.status_code,
  };
}

function withError(span: Span, type: string | undefined, message: string | undefined): Span {
  if (type === undefined) return span;
  span.attributes["error.type"] = type;
  span.status = message ? { code: STATUS_ERROR, message } : { code: STATUS_ERROR };
  return span;
}

function httpSpan(entry: Entry, traceId: string): Span {
  const span: Span = {
    traceId,
    spanId: randomHex(8),
    name: entry.request.method.toUpperCase(),
    kind: SPAN_KIND_CLIENT,
    startNs: secondsToNs(startOf(entry)),
    endNs: secondsToNs(endOf(entry)),
    attributes: httpAttributes(entry),
  };
  return withError(span, errorType(entry, undefined), entry.error);
}

function modelSpan(
  entry: Entry,
  call: GenAiCall,
  response: RenderedBody | undefined,
  tokens: Tokens | null,
  trace: TraceState,
  content: boolean,
): Span {
  // The call's own times (a call within an exchange has its own entry and timing).
  const times = { start: startOf(entry), end: endOf(entry) };
  // Cache and reasoning counts an API did not report are zero in the model: left out here.
  const some = (n: number | undefined) => n ? n : undefined;
  const firstByte = entry.timing?.first_byte;
  const attributes: Attributes = {
    "gen_ai.operation.name": call.operation,
    "gen_ai.provider.name": call.provider,
    "gen_ai.request.model": call.requestModel,
    "gen_ai.request.stream": call.stream,
    "gen_ai.conversation.id": call.conversationId,
    "gen_ai.request.previous_response.id": call.previousResponseId,
    "gen_ai.response.id": response?.responseId ?? responseIdOf(response),
    "gen_ai.response.model": response?.model,
    "gen_ai.response.finish_reasons": call.finishReasons,
    "gen_ai.usage.input_tokens": tokens?.input,
    "gen_ai.usage.output_tokens": tokens?.output,
    "gen_ai.usage.cache_read.input_tokens": some(tokens?.cached),
    "gen_ai.usage.cache_write.input_tokens": some(tokens?.cacheWrite),
    "gen_ai.usage.reasoning.output_tokens": some(tokens?.reasoning),
    "gen_ai.response.time_to_first_chunk": call.stream && typeof firstByte === "number"
      ? new Double(Math.max(0, firstByte - times.start)) // seconds
      : undefined,
    ...httpAttributes(entry),
  };
  if (content) Object.assign(attributes, contentAttributes(call, trace));
  const span: Span = {
    traceId: trace.traceId,
    spanId: randomHex(8),
    name: call.requestModel ? `${call.operation} ${call.requestModel}` : call.operation,
    kind: SPAN_KIND_CLIENT,
    startNs: secondsToNs(times.start),
    endNs: secondsToNs(Math.max(times.end, times.start)),
    attributes,
  };
  return withError(span, errorType(entry, call.errorType), entry.error);
}

function responseIdOf(response: RenderedBody | undefined): string | undefined {
  const id = response?.final?.id ?? response?.final?.responseId;
  return typeof id === "string" ? id : undefined;
}

/**
 * The opt-in content attributes, as JSON text: the input messages are those new since the
 * previous request of the conversation (an agent resends the whole history every time).
 */
function contentAttributes(call: GenAiCall, trace: TraceState): Attributes {
  const input = call.inputMessages ?? [];
  const keys = input.map((m) => JSON.stringify(m));
  const last = trace.lastInput ?? [];
  let shared = 0;
  if (!call.previousResponseId) {
    while (shared < last.length && shared < keys.length && last[shared] === keys[shared]) shared++;
    // A history that was edited or compacted is sent whole.
    if (shared < last.length) shared = 0;
  }
  trace.lastInput = keys;
  const fresh: GenAiMessage[] = input.slice(shared);
  return {
    "gen_ai.system_instructions": call.systemInstructions
      ? JSON.stringify(call.systemInstructions)
      : undefined,
    "gen_ai.input.messages": JSON.stringify(fresh),
    "gen_ai.output.messages": call.outputMessages ? JSON.stringify(call.outputMessages) : undefined,
    "gen_ai.tool.definitions": call.toolDefinitions
      ? JSON.stringify(call.toolDefinitions)
      : undefined,
  };
}
