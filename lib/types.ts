/**
 * Types that cross module boundaries: the JSONL entry (the capture format), targets (tier 3),
 * renderers (tier 2) and the document model renderers produce. Everything else is private to
 * the module that owns it.
 */

/** Header map as recorded: lower- or mixed-case names; repeated headers joined with ", ". */
export type Headers = Record<string, string>;

/** One side of an exchange, as written by the addon (and by the seed's Python version). */
export interface RecordedMessage {
  headers: Headers;
  /** Parsed JSON when the body was JSON; text (e.g. an SSE stream) otherwise; null when empty. */
  body: unknown;
  /** "base64" when `body` holds base64 of a binary body. Absent for JSON and text. */
  body_encoding?: "base64";
  /** Size in bytes of the decoded body, when the recorder knew it. */
  body_size?: number;
}

export interface RecordedRequest extends RecordedMessage {
  method: string;
  url: string;
}

export interface RecordedResponse extends RecordedMessage {
  status_code: number;
}

/** Wall-clock times of one exchange, in seconds since the Unix epoch. */
export interface Timing {
  start: number;
  /** First response byte (headers) from upstream; null if none came. */
  first_byte?: number | null;
  /** Last response byte, or the error, or shutdown. */
  end?: number | null;
}

/** One WebSocket message of an upgraded exchange. */
export interface WebSocketMessage {
  from: "client" | "server";
  /** Seconds since the epoch. */
  t: number;
  text?: string;
  base64?: string;
}

/**
 * One line of a capture. The first three fields are the seed's contract; the rest are
 * additions that older files lack, so every consumer treats them as optional.
 */
export interface Entry {
  timestamp: number;
  request: RecordedRequest;
  response: RecordedResponse | null;
  id?: string;
  /** Short name of the proxy (from the target) that saw the exchange. */
  proxy?: string;
  timing?: Timing;
  /** Why the exchange failed (upstream refused, reset, timeout); the client saw a 502. */
  error?: string;
  /** The exchange was still in flight when the capture stopped. */
  incomplete?: boolean;
  websocket?: WebSocketMessage[];
}

/** An entry with where it came from, for messages that name a line. */
export interface NumberedEntry {
  line: number;
  entry: Entry;
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

export interface SseEvent {
  /** The event type: the `event:` field, or "message". */
  type: string;
  data: string;
  /** The last event ID in force when the event was dispatched. */
  lastEventId: string;
  /** Reconnection time set by a `retry:` line in this event, if any. */
  retry?: number;
  /** False for a tail that ended without the blank line that dispatches an event. */
  complete: boolean;
  /**
   * Memo of `JSON.parse(data)` filled by `eventJson()` (lib/sse.ts), so the statistics and the
   * renderer parse each event once: the parsed value, or undefined when data is not JSON.
   */
  json?: unknown;
}

// ---------------------------------------------------------------------------------------------
// The document model: renderers describe content, report writers (Markdown, later HTML) turn
// it into text. Escaping lives in the writers only, so no renderer can break the report.

/** A label in a paragraph's text that names exchange `index`: `text.slice(at, at + length)`. */
export interface ExchangeRef {
  at: number;
  length: number;
  index: number;
}

export type Block =
  /** `level` is relative to where the blocks are placed: 1 (default) is the top level there. */
  | { kind: "heading"; text: string; level?: number }
  /**
   * `refs`: where the text names exchanges of the report ("#N" labels the code wrote, by offset
   * and length; the HTML report links them). Text from a capture is never taken for one.
   */
  | { kind: "paragraph"; text: string; refs?: ExchangeRef[] }
  /** Label/value lines, e.g. "Model: m-1". Values are inline text (escaped by the writer). */
  | { kind: "fields"; rows: [string, string][] }
  | { kind: "table"; header: string[]; rows: string[][] }
  /** Verbatim text shown as a code block; `lang` is a hint (json, text, ...). */
  | { kind: "code"; text: string; lang?: string }
  | { kind: "list"; items: string[] };

/** A titled part of the report's summary (Endpoints, Status Codes, ...). */
export interface ReportSection {
  title: string;
  blocks: Block[];
}

/** Everything in the report before the conversation log. */
export interface SummaryDoc {
  title: string;
  /** Header lines, shown as "Label: value". */
  facts: [string, string][];
  sections: ReportSection[];
  /** Title of the section that holds the exchanges. */
  logTitle: string;
}

/** One exchange of the conversation log. */
export interface ExchangeDoc {
  index: number;
  method: string;
  path: string;
  /** Status code, or "error" / "incomplete" / "no response". */
  status: string;
  /** Renderer id used for the bodies. */
  renderer: string;
  /** Label of the conversation the request belongs to, when the report groups them. */
  conversation?: string;
  /** One-line problems found in this exchange (errors, truncated streams, ...). */
  problems?: string[];
  blocks: Block[];
}

/** Serialises the report: `begin`, then `exchange` per entry as it streams by, then `end`. */
export interface ReportWriter {
  /** "markdown" or "html". */
  format: string;
  begin(summary: SummaryDoc): string;
  exchange(doc: ExchangeDoc): string;
  end(): string;
}

/** Token counts of one model response, normalised across APIs. */
export interface Usage {
  /** All input tokens, cached ones included. */
  input: number;
  output: number;
  total: number;
  /** Input tokens served from cache (part of `input`). */
  cached?: number;
  /** Cache writes, part of `input`. */
  cacheWrite?: number;
  /** Reasoning/thinking tokens (part of `output`). */
  reasoning?: number;
  /** Cache writes with a one-hour lifetime, part of `cacheWrite`; priced higher. */
  cacheWrite1h?: number;
  /** Input tokens of tool-use prompts, where an API counts them apart; part of `input`. */
  toolPrompt?: number;
  /** Requests of server-side tools billed per request, by the API's usage field. */
  serverTools?: Record<string, number>;
  /**
   * Sub-calls billed with this exchange but not in the counts above (compaction or advisor
   * calls an API runs within one request), each with its own usage and, when another model ran
   * it, that model.
   */
  subCalls?: SubCallUsage[];
}

/** One billed sub-call of an exchange (see {@link Usage.subCalls}). */
export interface SubCallUsage {
  /** What it was, e.g. "compaction", "advisor_message". */
  kind: string;
  /** The model that ran it, when it says (else the exchange's model). */
  model?: string;
  usage: Usage;
}

/** One recorded WebSocket message, classified (lib/websocket.ts). */
export interface WsFrame {
  from: "client" | "server";
  /** Seconds since the epoch (NaN when the capture has no usable time). */
  t: number;
  /** The frame's JSON `type` (JSON object frames only). */
  type?: string;
  /** The parsed frame, when the text is a JSON object. */
  json?: Record<string, unknown>;
  /** The text of a text frame (JSON or not). */
  text?: string;
  /** Size of a binary frame in bytes (base64 in the capture). */
  binaryBytes?: number;
}

interface ResponseBase {
  status: number;
  contentType: string;
  /** The recorded body (parsed JSON, text, or null). */
  body: unknown;
}

/** A response whose body is not a stream: JSON, text, binary or empty. */
export interface PlainResponseView extends ResponseBase {
  kind: "plain";
}

/** A server-sent events stream, parsed once; the last event may be `complete: false`. */
export interface SseResponseView extends ResponseBase {
  kind: "sse";
  events: SseEvent[];
}

/**
 * A WebSocket exchange: every recorded message classified, and the server's JSON object
 * frames as SSE-shaped events (so statistics and stream renderers read them like a stream).
 */
export interface WebSocketResponseView extends ResponseBase {
  kind: "websocket";
  frames: WsFrame[];
  events: SseEvent[];
}

/** The response as the pipeline hands it to a renderer: parsed once, shared by all consumers. */
export type ResponseView = PlainResponseView | SseResponseView | WebSocketResponseView;

export interface RenderedBody {
  blocks: Block[];
  usage?: Usage;
  /** Things a reader should look at first: truncated streams, error events, ... */
  problems?: string[];
  /** The model that answered (response) or was asked for (request), when known. */
  model?: string;
  /** The server's id of this response (e.g. `resp_…`), which later requests may continue. */
  responseId?: string;
  /**
   * The response as one object in the API's non-streamed JSON shape (a stream reassembled),
   * for writers that map it onto another schema (OTLP's GenAI messages).
   */
  final?: Record<string, unknown>;
  /**
   * The model calls of a response that carries several (a WebSocket with one turn per
   * request), each as the exchange it would be on its own; absent for one call per exchange.
   * The analysis model, the token totals and OTLP count these calls instead of the exchange.
   */
  calls?: ModelCall[];
}

/**
 * One model call inside an exchange that carries several (see {@link RenderedBody.calls}),
 * as an exchange of its own: everything downstream reads it like an HTTP exchange of the
 * same API.
 */
export interface ModelCall {
  /** 1-based, in the order of the exchange. */
  number: number;
  /**
   * The call as an exchange: its request body as sent, its response's status and headers
   * (null when it never finished), `timing` from its own messages, `incomplete` when the
   * capture stopped during it, `error` when it was cut off otherwise; no message list.
   */
  entry: Entry;
  /** The call's response rendered (usage, model, response id, problems); absent when none came. */
  response?: RenderedBody;
  /**
   * The request as the server saw it, when the call sent only what is new since a response the
   * server kept (earlier in the exchange): its whole context, as a request of the API over HTTP
   * would send it. The analysis model's facts and the conversation's delta view are computed
   * from it (the entry keeps the body as sent). Built when asked: a long exchange's contexts
   * are large, and only one call's need to be in memory at a time.
   */
  wholeBody?(): unknown;
  /** The call's problems, one line each: its response's, and e.g. that it was cut off. */
  problems: string[];
}

/** How a writer wants a renderer to show what a response holds. */
export interface RenderOptions {
  /**
   * Show every request inside the response (a WebSocket's turns) in full instead of only what
   * is new since the previous one.
   */
  full?: boolean;
}

/**
 * A request split into the parts a conversation repeats, so the report can show only what is
 * new since the previous request of the same conversation.
 */
export interface RequestParts {
  /** Settings shown on every request (model, stream, reasoning, ...). */
  fields: [string, string][];
  model?: string;
  /** An id the body carries for its conversation (e.g. prompt_cache_key). */
  conversationKey?: string;
  /** The response this request continues (e.g. previous_response_id). */
  continues?: string;
  /**
   * The system prompt: its text (compared across requests) and its full rendering. Renderings
   * are functions: the delta view skips most of them, and this runs for every request.
   */
  system?: { title: string; text: string; blocks(): Block[] };
  /**
   * Tool definitions: one fingerprint per tool name (the definition, compared across requests
   * as a JSON value), and the rendering.
   */
  tools?: { title: string; fingerprints: Record<string, unknown>; blocks(): Block[] };
  /** The conversation items (messages, tool calls and results, ...), shown as table rows. */
  items?: {
    title: string;
    header: string[];
    /**
     * Identity of each item, compared across requests as JSON values (deep equality): the item
     * itself, or a value built from it that leaves out what does not count (cache markers).
     */
    keys: unknown[];
    /** The table row of item `i`. */
    row(i: number): string[];
    /** Full text of item `i` when its row shows only an excerpt. */
    full(i: number): string | undefined;
  };
  /** Everything else, shown after the parts above on every request. */
  extra: Block[];
}

/**
 * A message part in the OpenTelemetry GenAI conventions' schema (`gen_ai.input.messages`,
 * `gen_ai.output.messages`, `gen_ai.system_instructions`).
 */
export type GenAiPart =
  | { type: "text"; content: string }
  | { type: "reasoning"; content: string }
  | { type: "tool_call"; id?: string; name: string; arguments?: unknown }
  | { type: "tool_call_response"; id?: string; response: unknown }
  | { type: "blob"; modality: string; mime_type?: string; content: string }
  | { type: "uri"; modality: string; uri: string }
  | { type: "file"; modality: string; file_id: string }
  | { type: "server_tool_call"; id?: string; name: string; server_tool_call: unknown }
  | { type: "server_tool_call_response"; id?: string; server_tool_call_response: unknown };

export interface GenAiMessage {
  role: "system" | "user" | "assistant" | "tool";
  parts: GenAiPart[];
  name?: string;
  /** Output messages only. */
  finish_reason?: string;
}

/**
 * What one model call is in the OpenTelemetry GenAI semantic conventions: the facts only the
 * API's renderer knows (lib/otlp turns them into span attributes).
 */
export interface GenAiCall {
  /** `gen_ai.operation.name`: "chat", "generate_content", ... */
  operation: string;
  /** `gen_ai.provider.name`: the renderer's value from OpenTelemetry's well-known list. */
  provider: string;
  requestModel?: string;
  stream?: boolean;
  /** An id of the conversation that the traffic itself carries (never a made-up one). */
  conversationId?: string;
  /** The response this request continues (`previous_response_id`). */
  previousResponseId?: string;
  finishReasons?: string[];
  /** The error's type when the API reported one (e.g. "rate_limit_error"). */
  errorType?: string;
  /** Content (opt-in): the system prompt, every input message, the output, the tools. */
  systemInstructions?: GenAiPart[];
  inputMessages?: GenAiMessage[];
  outputMessages?: GenAiMessage[];
  toolDefinitions?: unknown[];
}

/**
 * One unit of a request's conversation (a content block, a tool call, a tool result), as the
 * analysis model needs it: who, what kind, its text, and its identity across requests.
 */
export interface FactItem {
  /** "user", "assistant", "tool", "developer", "system", ... as the API names it. */
  role: string;
  kind: "text" | "tool_call" | "tool_result" | "reasoning" | "media" | "other";
  /** The text; a call's arguments (JSON text); a result's text; a short label for media. */
  text: string;
  /** Tool name of a call (or of the call a result answers, when the API says). */
  name?: string;
  /** The id that pairs a call with its result. */
  callId?: string;
  /** Identity across requests: JSON text of the unit, cache markers left out. */
  key: string;
}

/**
 * The facts of one request the analysis model (lib/model) computes with, so lib/ stays
 * API-agnostic: each renderer says what its format's system prompt, tools and items are.
 */
export interface RequestFacts {
  model?: string;
  /** The system prompt (instructions) as text, with the JSON text it was sent as. */
  system?: { text: string; key: string };
  /** Tool definitions: name and JSON text. */
  tools: { name: string; key: string }[];
  items: FactItem[];
  /** The order in which the API's prompt cache sees the parts of the prefix. */
  order: readonly ("tools" | "system" | "items")[];
}

/** What a renderer looks at to recognise its API (see `Renderer.detect`). */
export interface DetectInput {
  /** Upper-case. */
  method: string;
  /** The URL's path, without host, query or fragment ("/" at least). */
  path: string;
  /** The request body as recorded. */
  body: unknown;
  headers: Headers;
  /** The exchange is (or asked to become) a WebSocket. */
  websocket: boolean;
  /** The response's content type ("" without a response). */
  contentType: string;
  entry: Entry;
}

/** Tier 2: turns one API format's request and response bodies into blocks. */
export interface Renderer {
  /** Stable id, used by targets and `--renderer`, e.g. "chat_api". */
  id: string;
  /** Human name, e.g. "Some Chat API". */
  name: string;
  /**
   * How sure this renderer is that an exchange speaks its API: `Confidence` of lib/detect.ts
   * (0 none, 1 fallback, 10 body shape, 100 endpoint). Without it, the renderer is used only
   * when chosen by id.
   */
  detect?(request: DetectInput): number;
  /**
   * False for a renderer of traffic that is not a model turn (lists, counts, telemetry): its
   * exchanges stay out of the per-model token totals. True when absent.
   */
  modelTurns?: boolean;
  renderRequest(body: unknown, entry: Entry): RenderedBody;
  renderResponse(response: ResponseView, entry: Entry, options?: RenderOptions): RenderedBody;
  /**
   * The request's repeated parts, for the per-turn delta view; undefined when the body is
   * not a request of this format (the report then shows `renderRequest` in full).
   */
  requestParts?(body: unknown, entry: Entry): RequestParts | undefined;
  /**
   * The exchange as a GenAI model call (OpenTelemetry conventions), from the request and the
   * rendered response; undefined when it is not a model call of this format. Content fields
   * are filled only when `content` is true. For an exchange whose response carries several
   * calls (`RenderedBody.calls`) it is asked once per call, with the call's entry and response.
   */
  genai?(entry: Entry, response: RenderedBody | undefined, content: boolean): GenAiCall | undefined;
  /** The request's facts for the analysis model; undefined when not a request of this format. */
  requestFacts?(body: unknown, entry: Entry): RequestFacts | undefined;
}

// ---------------------------------------------------------------------------------------------
// Targets (tier 3)

export interface ProxySpec {
  /** Short name used by `--port NAME=PORT`, `--upstream NAME=URL` and the `proxy` field. */
  name: string;
  port: number;
  /** Where requests go, e.g. "https://api.example.com/". */
  upstream: string;
  /** What the proxy carries, shown to the user, e.g. "Model API". */
  purpose: string;
}

/**
 * A target describes one agent. String values in `env` and `manualSteps` may use the
 * placeholders `{NAME.port}` and `{NAME.url}` (`http://127.0.0.1:PORT`) for the proxy called
 * NAME; they are filled in with the ports actually in use.
 */
export interface Target {
  name: string;
  /** One line: what the agent is. */
  description: string;
  reportTitle: string;
  /** Renderer id for this agent's model traffic. */
  renderer: string;
  proxies: ProxySpec[];
  env: Record<string, string>;
  manualSteps: string[];
  /** Extra header names to redact (case-insensitive), on top of the built-in list. */
  redactedHeaders: string[];
  /**
   * How the agent's requests name it, to recognise it in a capture analyzed without
   * `--target`: a request header (case-insensitive name) whose value matches `pattern` (a
   * regular expression, case-insensitive), e.g. a user-agent prefix.
   */
  recognizedBy?: { header: string; pattern: string }[];
  /** Request headers that carry the agent's session id (they group requests into conversations). */
  sessionHeaders?: string[];
  /**
   * Arguments inserted after argv[0] when the all-in-one command's program is `program`, for
   * agents that ignore environment variables (placeholders allowed).
   */
  commandArgs?: { program: string; args: string[] };
  /**
   * Hosts intercepted in forward mode besides those of its proxies' upstreams (e.g. an OAuth
   * or settings host the agent also calls). Every other host is tunnelled unrecorded.
   */
  forwardHosts?: string[];
  /** The mode `probe capture` uses without `--mode`: "reverse" unless the target says. */
  defaultMode?: CaptureMode;
}

/**
 * How a capture sits between agent and API. reverse: one local server per proxy, the agent
 * pointed at it by a base URL. forward: one HTTPS proxy with probe's CA, the agent unchanged.
 */
export type CaptureMode = "reverse" | "forward";
