/**
 * The analysis model: what probe knows about a capture, computed once (lib/model/build.ts) and
 * written by every output (Markdown and HTML sections, `analyze --format json`, the viewer,
 * OTLP). Every type of the model is here; `schema.json` beside it describes the JSON form
 * ({@link AnalysisModel}) and the tests validate against it. Times are seconds since the Unix
 * epoch; durations are milliseconds; sizes are bytes.
 */

/** Version of the model's JSON form; changes when a field changes meaning or goes away. */
export const MODEL_VERSION = 2;

/**
 * What `analyze --format json` writes. It is written as the capture is read (lib/model/json.ts),
 * so nothing in it nests what grows with the capture: turns, conversations, subagent links and
 * events are flat lists of their own, linked by conversation id and exchange index.
 */
export interface AnalysisModel {
  version: typeof MODEL_VERSION;
  /** probe's version that computed it. */
  generator: string;
  sessions: SessionRecord[];
}

/** A session in the JSON form: its totals, then its lists. */
export interface SessionRecord extends Omit<Session, "conversations" | "turns"> {
  /** Model turns (requests a renderer understood): the length of `turns`. */
  turnCount: number;
  conversationCount: number;
  /** In the order they ended (their thread went idle, or the capture ended), each once. */
  conversations: ConversationRecord[];
  /** Subagent threads and the tool calls that spawned them, in the order they were found. */
  subagents: SubagentLink[];
  /** Compactions and model switches, in capture order. */
  events: SessionEvent[];
  /** Every model turn, in capture order; `conversation` names its thread. */
  turns: Turn[];
}

/** A conversation in the JSON form: its turns, events and links are in the session's lists. */
export interface ConversationRecord
  extends Omit<Conversation, "turns" | "events" | "parent" | "children"> {
  turnCount: number;
  /** Exchange indexes of its first and latest turn. */
  firstTurn: number;
  lastTurn: number;
}

/** A subagent's thread (`conversation`) and the call that spawned it. */
export interface SubagentLink {
  conversation: number;
  parent: SpawnLink;
}

export interface SessionEvent extends ConversationEvent {
  conversation: number;
}

/** Token counts; `input` includes `cached` and `cacheWrite`, `output` includes `reasoning`. */
export interface Tokens {
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

/** One capture file (or one input of several). */
export interface Session {
  id: string;
  /** The capture's path as given. */
  source: string;
  /** The target (agent) it was analyzed as, or those recognised in the capture. */
  agent: string;
  /** API formats (renderer ids) seen, most frequent first. */
  apis: string[];
  start: number | null;
  end: number | null;
  durationMs: number | null;
  /** Exchanges in the capture (every HTTP exchange, model or not). */
  exchanges: number;
  /** Model turns (requests a renderer understood). */
  turns: number;
  /** The turns' own tokens (what their requests carried and their answers used). */
  tokens: Tokens;
  /** Tokens of sub-calls billed with the turns (compaction, advisor), apart from `tokens`. */
  subCalls: Tokens;
  /** Estimated cost in `currency`, sub-calls included; null when no turn had a price. */
  cost: number | null;
  currency: string;
  /** Exchanges with at least one problem. */
  problems: number;
  conversations: Conversation[];
}

/** A thread of requests that resend one growing history. */
export interface Conversation {
  /** 1-based within the session, in order of first appearance. */
  id: number;
  /** How its requests were grouped (conversation key, session header, shared history). */
  basis: string;
  api: string;
  /** The model of its first turn. */
  model: string | null;
  /** A short title: the first user text. */
  title: string;
  /** Set for a subagent's thread: the tool call that spawned it. */
  parent: SpawnLink | null;
  /** Ids of conversations this one spawned. */
  children: number[];
  turns: Turn[];
  events: ConversationEvent[];
  tokens: Tokens;
  subCalls: Tokens;
  cost: number | null;
  /** Cache reads over all input tokens of its turns (0-1); null without usage. */
  cacheHitRate: number | null;
}

export interface SpawnLink {
  conversation: number;
  /** Exchange index of the turn whose answer made the call. */
  turn: number;
  toolName: string;
  callId: string | null;
}

export interface ConversationEvent {
  kind: "compaction" | "model_switch";
  /** Exchange index of the turn where it was seen. */
  turn: number;
  /** The call of that exchange, when it carries several (`Turn.call`). */
  call?: number;
  detail: string;
}

/** One request of a conversation and its response. */
export interface Turn {
  /** The exchange's 1-based index in the capture (the report's #N). */
  index: number;
  /**
   * Which model call of its exchange this turn is (1-based), when the exchange carries several
   * (a WebSocket with a turn per request; the report's #N.C); absent otherwise.
   */
  call?: number;
  /** 1-based line of the capture. */
  line: number;
  conversation: number;
  start: number;
  status: string;
  /** The exchange was still in flight (being streamed, or when the capture stopped). */
  inProgress: boolean;
  model: string | null;
  /** The request's own tokens (what its cache diagnosis reads); null without usage. */
  tokens: Tokens | null;
  /** Tokens of sub-calls billed with it (compaction, advisor); null when it reported none. */
  subCalls: Tokens | null;
  /** Its estimated cost, sub-calls included. */
  cost: number | null;
  ttfbMs: number | null;
  durationMs: number | null;
  context: ContextComposition;
  cache: CacheDiagnostics;
  /** Items this request adds to the conversation (index into the request's items). */
  newFrom: number;
  items: number;
  /** Tool calls that this request reports as made (by the previous answer). */
  toolCalls: { name: string; callId: string | null }[];
  problems: string[];
}

export type ContextPart = "system" | "tools" | "history" | "toolResults" | "newInput";

export const CONTEXT_PARTS: readonly ContextPart[] = [
  "system",
  "tools",
  "history",
  "toolResults",
  "newInput",
];

/** What filled one request's context, per part: bytes and estimated tokens. */
export interface ContextComposition {
  bytes: Record<ContextPart, number>;
  tokens: Record<ContextPart, number>;
  /**
   * True when `tokens` were scaled so they sum to the input tokens the API reported; false
   * when they are the plain estimate (bytes / 4).
   */
  calibrated: boolean;
  /**
   * Reported input tokens per estimated token (1 without reported usage). Above
   * `MAX_CALIBRATION` (lib/model/build.ts) the tokens stay the plain estimate (`calibrated`
   * false): the reported input then counts context the request did not carry.
   */
  factor: number;
}

export interface CacheDiagnostics {
  read: number;
  write: number;
  /** Cached share of this turn's input (0-1); null without usage. */
  hitRate: number | null;
  /** Set when the cached share fell from the previous turn: the likely reason. */
  miss: CacheMiss | null;
}

export interface CacheMiss {
  /** The previous turn's hit rate and this one's. */
  from: number;
  to: number;
  /** The first element of the prompt prefix that changed, or null when none did. */
  changed: string | null;
  /** One line for a reader. */
  reason: string;
  /** Seconds since the previous turn of the conversation (cache entries expire). */
  gapSeconds: number;
}

/** How the report names a turn: "#N", or "#N.C" for call C of exchange N. */
export function turnLabel(t: { index: number; call?: number }): string {
  return t.call === undefined ? `#${t.index}` : `#${t.index}.${t.call}`;
}

/** Rows a report table lists (the first ones); `--format json` has every conversation and turn. */
export const LISTED_ROWS = 100;

/**
 * What the report sections show of a session, kept as the exchanges go by so that a report
 * needs no more memory for a capture of a million turns than for one of a hundred: the first
 * {@link LISTED_ROWS} conversations with their latest turn, the first cache misses and events
 * (in conversation order, as the sections list them), and how many there are of each.
 */
export interface SessionDigest {
  conversations: ListedConversation[];
  conversationCount: number;
  misses: { conversation: number; turn: number; call?: number; miss: CacheMiss }[];
  missCount: number;
  events: { conversation: number; event: ConversationEvent }[];
  eventCount: number;
}

/** A listed conversation (its `turns` are empty unless the whole model is kept). */
export interface ListedConversation {
  conversation: Conversation;
  turns: number;
  latest: Turn;
}
