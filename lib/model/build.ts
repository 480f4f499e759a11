/**
 * Builds the analysis model (types.ts) in one pass over a capture's exchanges: each exchange
 * is handed in once, with what the pipeline already computed for it (its conversation, the
 * renderer's request facts and the response's usage), and only small per-conversation state
 * is kept (hashes of the previous request's prefix), so memory follows the number of turns,
 * not the size of the capture. A report keeps less still (`keep: "digest"`): what its
 * sections show (lib/model/types.ts `SessionDigest`) and the state of the recently active
 * threads, so its memory does not follow the number of turns or conversations either; so does
 * `keep: "stream"` (`--format json`), which hands each conversation over once it has ended.
 */
import { ACTIVE_CONVERSATIONS, IDLE_SECONDS, TRACKED_CONVERSATIONS } from "../conversation.ts";
import { IdleClock, lastActive, overdue, type RecencyBounds } from "../idle_clock.ts";
import { hashText } from "../text_hash.ts";
import { type Digests, unitDigests } from "./digests.ts";
import { exchangeCost, type PriceTable } from "../prices.ts";
import { statusLabel } from "../stats.ts";
import type { Entry, FactItem, RequestFacts, Usage } from "../types.ts";
import {
  type CacheDiagnostics,
  type ContextComposition,
  type ContextPart,
  type Conversation,
  type ConversationEvent,
  type ConversationRecord,
  LISTED_ROWS,
  type ListedConversation,
  type Session,
  type SessionDigest,
  type SessionEvent,
  type SpawnLink,
  type Tokens,
  type Turn,
} from "./types.ts";

/** What the pipeline knows of one exchange when it hands it to the builder. */
export interface ExchangeInput {
  /** 1-based index in the capture. */
  index: number;
  line: number;
  entry: Entry;
  /** Renderer id that handled it. */
  api: string;
  /** The conversation the tracker assigned (absent for requests no renderer understood). */
  conversation?: { id: number; basis: string };
  facts?: RequestFacts;
  usage?: Usage;
  /** Model that answered, else the one asked for. */
  model?: string;
  problems: string[];
  /**
   * The model calls of an exchange that carries several (`RenderedBody.calls`): each is a turn
   * of the exchange's conversation; the fields above then describe the exchange only.
   */
  calls?: CallInput[];
}

/** One model call of an exchange that carries several, as the builder needs it. */
export interface CallInput {
  /** 1-based within the exchange. */
  number: number;
  /** The call as an exchange of its own (its request, status and times). */
  entry: Entry;
  /** Asked once, when the call is added (see `ModelCall.facts`). */
  facts?(): RequestFacts | undefined;
  usage?: Usage;
  model?: string;
  problems: string[];
}

/** What makes one turn: an exchange, or one call of an exchange that carries several. */
type TurnInput = Omit<ExchangeInput, "calls"> & { call?: number };

/** Estimated bytes per token when the API reported no usage to calibrate against. */
export const BYTES_PER_TOKEN = 4;

/**
 * The largest factor the estimate is scaled by. Tokenizers and hidden prompt overhead stay well
 * within it; a larger one means the reported input counts context the request did not carry
 * (a compaction, a conversation stored by the server), which no part of the request explains.
 */
export const MAX_CALIBRATION = 10;

/** A fall in the cached share at least this large is diagnosed as a cache miss. */
export const MISS_DROP = 0.2;

/** Turns with fewer input tokens than this are too small to diagnose (below cache minimums). */
const MIN_DIAGNOSED_INPUT = 1024;

/** The shortest default prompt-cache lifetime among the APIs: a longer gap explains a miss. */
const CACHE_TTL_SECONDS = 300;

/** A tool argument this long may be a subagent's prompt (shorter ones match by accident). */
const MIN_PROMPT_LENGTH = 16;

interface ConvState {
  conv: Conversation;
  /** Its turns so far (`conv.turns` is empty when only the digest is kept). */
  turns: number;
  itemHashes: number[];
  /**
   * Hashes of the previous request's tool definitions. Its prefix (the elements in the API's
   * cache order) is rebuilt from these, the system's and the items' only when a cache miss is
   * diagnosed: kept whole, it doubled what each of hundreds of remembered threads holds.
   */
  toolHashes: number[];
  /** What the prefix elements were, to name one that changed or is no longer sent. */
  shape: PrefixShape;
  hitRate: number | null;
  model: string | null;
  systemHash: number | null;
  lastStart: number;
  /** Exchange indexes of its first and latest turn. */
  firstIndex: number;
  lastIndex: number;
}

/**
 * Thread groups (tracker conversations) whose state a digest-only builder keeps: twice the
 * tracker's limit, so a group the tracker still remembers is never dropped here (a forgotten
 * one's next request comes with a new tracker conversation, so its state is never asked for).
 */
const KEPT_GROUPS = 2 * TRACKED_CONVERSATIONS;

/**
 * Groups idle this long (capture seconds, by the same clock as the tracker's: each exchange's
 * latest activity, turn or not), beyond the {@link KEPT_ACTIVE_GROUPS} most recently active,
 * are dropped: twice the tracker's, so the tracker has forgotten them first.
 */
const IDLE_GROUP_SECONDS = 2 * IDLE_SECONDS;
const KEPT_ACTIVE_GROUPS = 2 * ACTIVE_CONVERSATIONS;
const GROUP_BOUNDS: RecencyBounds = {
  cap: KEPT_GROUPS,
  floor: KEPT_ACTIVE_GROUPS,
  idleSeconds: IDLE_GROUP_SECONDS,
};

/**
 * Tracker conversations whose latest request's units are kept, to reuse their digests: the
 * tracker's own live conversations hold the same request's values, so these add little.
 */
const KEPT_UNITS = 16;

/** A request's units by kind, with their digests. */
interface RequestDigests {
  items: Digests;
  tools: Digests;
  system?: Digests;
}

/** Distinct tool names and item kinds shared; more (a hostile capture) are kept per request. */
const MAX_TAGS = 4096;

/** Tool-call arguments a digest-only builder remembers for linking later subagent threads. */
const KEPT_SPAWNS = 1024;

/** Threads whose first user texts are remembered for {@link ModelBuilder.spawned}. */
const KEPT_FIRSTS = 1024;

/** A thread found to be a subagent while the exchanges go by (see {@link ModelBuilder.spawned}). */
export interface Spawned {
  /** The subagent's thread (conversation id). */
  conversation: number;
  /** The call that spawned it. */
  link: SpawnLink;
}

/**
 * What a builder keeps: "all" the conversations and turns (the viewer), only the "digest" the
 * report sections show (Markdown and HTML reports, OTLP), or that and what a writer that goes
 * along with the exchanges has not taken yet: "stream" (`--format json`: see
 * {@link ModelBuilder.ended} and {@link ModelBuilder.events}).
 */
export type Keep = "all" | "digest" | "stream";

/** Inserts into a list kept sorted by `before` (stable) and at most `max` long. */
function insertCapped<T>(list: T[], x: T, max: number, before: (a: T, b: T) => boolean): void {
  let at = list.length;
  while (at > 0 && before(x, list[at - 1])) at--;
  if (at >= max) return;
  list.splice(at, 0, x);
  if (list.length > max) list.pop();
}

const zeroTokens = (): Tokens => ({ input: 0, cached: 0, cacheWrite: 0, output: 0, reasoning: 0 });

function addTokens(sum: Tokens, t: Tokens): void {
  sum.input += t.input;
  sum.cached += t.cached;
  sum.cacheWrite += t.cacheWrite;
  sum.output += t.output;
  sum.reasoning += t.reasoning;
}

/** The tokens of an exchange's billed sub-calls, or null when it reported none. */
function subCallTokens(u: Usage | undefined): Tokens | null {
  if (!u?.subCalls?.length) return null;
  const sum = zeroTokens();
  for (const sub of u.subCalls) addTokens(sum, tokensOf(sub.usage));
  return sum;
}

function tokensOf(u: Usage): Tokens {
  return {
    input: u.input,
    cached: u.cached ?? 0,
    cacheWrite: u.cacheWrite ?? 0,
    output: u.output,
    reasoning: u.reasoning ?? 0,
  };
}

const zeroParts = (): Record<ContextPart, number> => ({
  system: 0,
  tools: 0,
  history: 0,
  toolResults: 0,
  newInput: 0,
});

/** The first line of a text, shortened for a title. */
function titleOf(text: string): string {
  const line = text.trim().split("\n", 1)[0] ?? "";
  return line.length > 80 ? line.slice(0, 79) + "…" : line;
}

/** The user's own words among a request's items: the last user text not wrapped in a tag. */
export function userPrompt(items: readonly FactItem[]): string | undefined {
  let fallback: string | undefined;
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i];
    if (it.role !== "user" || it.kind !== "text" || it.text.trim() === "") continue;
    if (!it.text.trimStart().startsWith("<")) return it.text;
    fallback ??= it.text;
  }
  return fallback;
}

/** String values of a tool call's JSON arguments long enough to be a prompt. */
function promptArguments(args: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    return args.length >= MIN_PROMPT_LENGTH ? [args] : [];
  }
  const out: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (typeof v === "string") {
      if (v.length >= MIN_PROMPT_LENGTH) out.push(v);
    } else if (depth < 3 && typeof v === "object" && v !== null) {
      for (const x of Object.values(v)) walk(x, depth + 1);
    }
  };
  walk(value, 0);
  return out;
}

const normalHash = (text: string) => hashText(text.trim());

/**
 * A request's prefix elements as far as their names go (a label is made only for the element
 * a cache miss names): the parts' order, whether a system prompt came, tool names, and each
 * item's role and kind. Their strings are shared (see {@link ModelBuilder}'s tags).
 */
interface PrefixShape {
  order: RequestFacts["order"];
  system: boolean;
  tools: string[];
  /**
   * Each item's tag as its index in `tags` (two bytes an item, where a string reference takes
   * eight), or the tags themselves when the table is full (a hostile capture).
   */
  items: Uint16Array | string[];
  /** The builder's table of tags (shared). */
  tags: readonly string[];
}

const noShape: PrefixShape = { order: [], system: false, tools: [], items: [], tags: [] };

/** The tag of item `i` of a shape ("user text"). */
function itemTag(shape: PrefixShape, i: number): string {
  const item = shape.items[i];
  return typeof item === "number" ? shape.tags[item] : item;
}

/** A request's hashes: what its prefix is made of. */
interface PrefixHashes {
  system: number | null;
  tools: readonly number[];
  items: readonly number[];
}

/** Hashes of the prefix elements in the order the API's cache reads them. */
function prefixOf(order: RequestFacts["order"], hashes: PrefixHashes): number[] {
  const out: number[] = [];
  for (const part of order) {
    if (part === "system" && hashes.system !== null) out.push(hashes.system);
    else if (part === "tools") out.push(...hashes.tools);
    else if (part === "items") { for (const h of hashes.items) out.push(h); }
  }
  return out;
}

/** The label of prefix element `at` ("the system prompt", "item 3 (user text)", ...). */
function prefixLabel(shape: PrefixShape, at: number): string {
  let i = at;
  for (const part of shape.order) {
    if (part === "system" && shape.system) {
      if (i === 0) return "the system prompt";
      i--;
    } else if (part === "tools") {
      if (i < shape.tools.length) return `the definition of tool ${shape.tools[i]}`;
      i -= shape.tools.length;
    } else if (part === "items") {
      if (i < shape.items.length) return `item ${i + 1} (${itemTag(shape, i)})`;
      i -= shape.items.length;
    }
  }
  return `element ${at + 1}`;
}

/** Accumulates one session's model from its exchanges, in capture order. */
export class ModelBuilder {
  #session: Session;
  #prices: PriceTable;
  #keep: Keep;
  /** Threads by conversation id (with "digest": only those of the groups kept). */
  #convs = new Map<number, ConvState>();
  /** The threads of each tracker conversation, least recently active first. */
  #groups = new Map<number, ConvState[]>();
  /** When each group was last active (see {@link IDLE_GROUP_SECONDS}). */
  #groupAt = new Map<number, number>();
  #clock = new IdleClock();
  #apis = new Map<string, number>();
  /**
   * Tool-call argument hash → the first call that passed it, for linking subagent threads
   * (with "digest": the latest {@link KEPT_SPAWNS}).
   */
  #spawns = new Map<string, SpawnLink>();
  /** With "digest": hashes of the listed conversations' first user texts → the first call. */
  #watched = new Map<string, SpawnLink | null>();
  /** First user-text hashes of the conversations whose parent may be asked for. */
  #firstTexts = new Map<number, string[]>();
  #created = 0;
  #listed = new Map<number, ListedConversation>();
  #digest: SessionDigest = {
    conversations: [],
    conversationCount: 0,
    misses: [],
    missCount: 0,
    events: [],
    eventCount: 0,
  };
  #priced = false;
  #problemExchanges = 0;
  /** First user-text hash → the latest thread that began with it (at most KEPT_FIRSTS). */
  #firsts = new Map<string, number>();
  /** Threads already reported by {@link spawned}. */
  #reported = new Set<number>();
  #spawned: Spawned[] = [];
  /** One string per item role and kind ("user text"), shared by every thread's shape. */
  #tags = new Map<string, number>();
  /** The latest request's units of recently active tracker conversations (see #digests). */
  #units = new Map<number, RequestDigests>();
  /** The tags by index (see {@link PrefixShape}). */
  #tagList: string[] = [];
  /** With "stream": conversations ended and events seen since the writer last took them. */
  #ended: ConversationRecord[] = [];
  #events: SessionEvent[] = [];

  constructor(
    opts: { id: string; source: string; agent: string; prices: PriceTable; keep?: Keep },
  ) {
    this.#prices = opts.prices;
    this.#keep = opts.keep ?? "all";
    this.#session = {
      id: opts.id,
      source: opts.source,
      agent: opts.agent,
      apis: [],
      start: null,
      end: null,
      durationMs: null,
      exchanges: 0,
      turns: 0,
      tokens: zeroTokens(),
      subCalls: zeroTokens(),
      cost: null,
      currency: opts.prices.currency,
      problems: 0,
      conversations: [],
    };
  }

  /**
   * Adds one exchange; returns its turns: one when it belongs to a conversation, one per model
   * call when it carries several (`calls`), none otherwise.
   */
  add(x: ExchangeInput): Turn[] {
    const s = this.#session;
    const { entry } = x;
    s.exchanges++;
    s.start = s.start === null ? entry.timestamp : Math.min(s.start, entry.timestamp);
    const end = lastActive(entry);
    s.end = s.end === null ? end : Math.max(s.end, end);
    if (x.problems.length > 0) this.#problemExchanges++;
    if (x.conversation) this.#activeGroup(x.conversation.id, end);
    if (!x.calls) {
      const turn = this.#addTurn(x);
      return turn ? [turn] : [];
    }
    const turns: Turn[] = [];
    for (const c of x.calls) {
      const { usage, model } = c;
      const facts = c.facts?.();
      const turn = this.#addTurn({
        index: x.index,
        line: x.line,
        entry: c.entry,
        api: x.api,
        ...(x.conversation ? { conversation: x.conversation } : {}),
        ...(facts ? { facts } : {}),
        ...(usage ? { usage } : {}),
        ...(model ? { model } : {}),
        problems: c.problems,
        call: c.number,
      });
      if (turn) turns.push(turn);
    }
    return turns;
  }

  #addTurn(x: TurnInput): Turn | undefined {
    const s = this.#session;
    if (!x.conversation || !x.facts) return undefined;
    this.#apis.set(x.api, (this.#apis.get(x.api) ?? 0) + 1);
    const digests = this.#digests(x.conversation.id, x.facts);
    const state = this.#state(x, digests);
    const turn = this.#turn(x, x.facts, state, digests);
    if (this.#keep === "all") state.conv.turns.push(turn);
    state.turns++;
    s.turns++;
    const listed = this.#listed.get(state.conv.id);
    if (listed) {
      listed.turns++;
      listed.latest = turn;
    } else if (state.conv.id <= LISTED_ROWS) {
      const row = { conversation: state.conv, turns: 1, latest: turn };
      this.#listed.set(state.conv.id, row);
      this.#digest.conversations.push(row);
    }
    if (turn.cache.miss) {
      const d = this.#digest;
      d.missCount++;
      insertCapped(
        d.misses,
        {
          conversation: state.conv.id,
          turn: turn.index,
          ...(turn.call !== undefined ? { call: turn.call } : {}),
          miss: turn.cache.miss,
        },
        LISTED_ROWS,
        (a, b) => a.conversation < b.conversation,
      );
    }
    if (turn.tokens) {
      addTokens(s.tokens, turn.tokens);
      addTokens(state.conv.tokens, turn.tokens);
    }
    if (turn.subCalls) {
      addTokens(s.subCalls, turn.subCalls);
      addTokens(state.conv.subCalls, turn.subCalls);
    }
    if (turn.cost !== null) {
      s.cost = (s.cost ?? 0) + turn.cost;
      state.conv.cost = (state.conv.cost ?? 0) + turn.cost;
      this.#priced = true;
    }
    return turn;
  }

  /**
   * The thread of this request. The tracker groups by conversation key, session header or
   * shared history; under one session header an agent runs several threads (its subagents,
   * title and summary side requests), so within a tracker group a request joins the thread
   * whose history it continues, or the one whose system prompt and model it keeps while
   * sending a shorter history (a compaction), or starts a thread of its own.
   */
  #state(x: TurnInput, digests: RequestDigests): ConvState {
    const itemHashes = digests.items.hashes;
    const systemHash = digests.system?.hashes[0] ?? null;
    const threads = this.#groups.get(x.conversation!.id)!;
    let best: ConvState | undefined;
    let bestShared = 0;
    for (const st of threads) {
      let n = 0;
      while (
        n < st.itemHashes.length && n < itemHashes.length && st.itemHashes[n] === itemHashes[n]
      ) {
        n++;
      }
      if (n > bestShared) {
        best = st;
        bestShared = n;
      }
    }
    const model = x.model ?? x.facts?.model ?? null;
    best ??= threads.findLast((st) =>
      st.systemHash === systemHash && st.model === model && itemHashes.length < st.itemHashes.length
    );
    if (best) return best;
    const conv: Conversation = {
      id: ++this.#created,
      basis: x.conversation!.basis,
      api: x.api,
      model,
      title: "",
      parent: null,
      children: [],
      turns: [],
      events: [],
      tokens: zeroTokens(),
      subCalls: zeroTokens(),
      cost: null,
      cacheHitRate: null,
    };
    const st: ConvState = {
      conv,
      turns: 0,
      itemHashes: [],
      toolHashes: [],
      shape: noShape,
      hitRate: null,
      model: null,
      systemHash: null,
      lastStart: x.entry.timestamp,
      firstIndex: x.index,
      lastIndex: 0,
    };
    threads.push(st);
    this.#convs.set(conv.id, st);
    this.#digest.conversationCount++;
    if (this.#keep === "all" || conv.id <= LISTED_ROWS) this.#session.conversations.push(conv);
    return st;
  }

  /**
   * Marks a group active at `time` (the most recent), then forgets the state of the least
   * recently active groups over {@link KEPT_GROUPS}, and of those idle for
   * {@link IDLE_GROUP_SECONDS} beyond the most recent ones.
   */
  #activeGroup(group: number, time: number): void {
    const threads = this.#groups.get(group) ?? [];
    this.#groups.delete(group);
    this.#groups.set(group, threads);
    // Judged as the tracker judges (lib/idle_clock.ts).
    const judged = this.#clock.tick(group, time);
    if (judged !== undefined) {
      this.#groupAt.set(group, Math.max(time, this.#groupAt.get(group) ?? time));
    }
    if (this.#keep === "all") return;
    for (const [oldest, gone] of this.#groups) {
      if (!overdue(this.#groups.size, this.#groupAt.get(oldest), judged, GROUP_BOUNDS)) return;
      this.#groups.delete(oldest);
      this.#groupAt.delete(oldest);
      for (const st of gone) {
        this.#convs.delete(st.conv.id);
        if (this.#keep === "stream") this.#ended.push(record(st));
      }
    }
  }

  /**
   * The digests of a request's units, those equal to the previous request's of its tracker
   * conversation reused (see digests.ts); its units are remembered for the next request of the
   * {@link KEPT_UNITS} conversations most recently active.
   */
  #digests(group: number, facts: RequestFacts): RequestDigests {
    const previous = this.#units.get(group);
    const digests: RequestDigests = {
      items: unitDigests(facts.items, previous?.items),
      tools: unitDigests(facts.tools, previous?.tools),
      ...(facts.system ? { system: unitDigests([facts.system], previous?.system) } : {}),
    };
    this.#units.delete(group);
    this.#units.set(group, digests);
    if (this.#units.size > KEPT_UNITS) this.#units.delete(this.#units.keys().next().value!);
    return digests;
  }

  #turn(
    x: TurnInput,
    facts: RequestFacts,
    st: ConvState,
    digests: RequestDigests,
  ): Turn {
    const itemHashes = digests.items.hashes;
    const systemHash = digests.system?.hashes[0] ?? null;
    const { entry } = x;
    const first = st.turns === 0;
    let shared = 0;
    const prevItems = st.itemHashes;
    while (
      shared < prevItems.length && shared < itemHashes.length &&
      prevItems[shared] === itemHashes[shared]
    ) shared++;

    // Events: a history that lost items under the same system prompt (another kind of
    // request grouped with it would change that too), a model that changed.
    if (
      !first && shared < prevItems.length && itemHashes.length < prevItems.length &&
      systemHash === st.systemHash
    ) {
      this.#event(st.conv, {
        kind: "compaction",
        turn: x.index,
        ...(x.call !== undefined ? { call: x.call } : {}),
        detail: `history went from ${prevItems.length} to ${itemHashes.length} items ` +
          `(${shared} kept as they were)`,
      });
    }
    const model = x.model ?? facts.model ?? null;
    if (!first && model && st.model && model !== st.model) {
      this.#event(st.conv, {
        kind: "model_switch",
        turn: x.index,
        ...(x.call !== undefined ? { call: x.call } : {}),
        detail: `${st.model} → ${model}`,
      });
    }

    // Context composition.
    const bytes = zeroParts();
    bytes.system = digests.system?.bytes[0] ?? 0;
    for (const n of digests.tools.bytes) bytes.tools += n;
    const toolCalls: Turn["toolCalls"] = [];
    facts.items.forEach((it, i) => {
      const n = digests.items.bytes[i];
      if (i < shared || it.role === "assistant" || it.role === "model") bytes.history += n;
      else if (it.kind === "tool_result") bytes.toolResults += n;
      else bytes.newInput += n;
      if (i >= shared && it.kind === "tool_call") {
        toolCalls.push({ name: it.name ?? "?", callId: it.callId ?? null });
        this.#noteSpawn(it, st);
      }
    });
    const context = composition(bytes, x.usage?.input);

    if (first) {
      this.#noteFirstTexts(
        st.conv.id,
        facts.items.filter((it) => it.role === "user" && it.kind === "text")
          .map((it) => normalHash(it.text)),
      );
      st.conv.title = titleOf(userPrompt(facts.items) ?? "");
      st.conv.model = model;
    }

    const tokens = x.usage ? tokensOf(x.usage) : null;
    // The same estimate as the report's: sub-calls at their models' prices, server-tool fees.
    const priced = model && tokens && x.usage
      ? exchangeCost(this.#prices, model, x.usage)
      : undefined;
    const cost = priced && priced.byModel.size > 0 ? priced.cost : null;
    const toolHashes = digests.tools.hashes;
    const shape = this.#shape(facts);
    const hashes = { system: systemHash, tools: toolHashes, items: itemHashes };
    const cache = this.#cache(tokens, st, hashes, shape, entry.timestamp);

    st.itemHashes = itemHashes;
    st.toolHashes = toolHashes;
    st.shape = shape;
    st.systemHash = systemHash;
    if (cache.hitRate !== null) st.hitRate = cache.hitRate;
    if (model) st.model = model;
    st.lastStart = entry.timestamp;
    st.lastIndex = x.index;

    const t = entry.timing;
    const inProgress = entry.response === null && !entry.error;
    return {
      index: x.index,
      ...(x.call !== undefined ? { call: x.call } : {}),
      line: x.line,
      conversation: st.conv.id,
      start: entry.timestamp,
      status: statusLabel(entry),
      inProgress: inProgress || entry.incomplete === true,
      model,
      tokens,
      subCalls: subCallTokens(x.usage),
      cost,
      ttfbMs: t && typeof t.first_byte === "number" ? ms(t.first_byte - t.start) : null,
      durationMs: t && typeof t.end === "number" ? ms(t.end - t.start) : null,
      context,
      cache,
      newFrom: shared,
      items: facts.items.length,
      toolCalls,
      problems: x.problems,
    };
  }

  /** Remembers a call's prompt-like arguments: a later conversation starting with one is its subagent. */
  #noteSpawn(it: FactItem, st: ConvState): void {
    const link: SpawnLink = {
      conversation: st.conv.id,
      // The call is resent in this request; the answer of the previous turn made it.
      turn: st.lastIndex,
      toolName: it.name ?? "?",
      callId: it.callId ?? null,
    };
    for (const arg of promptArguments(it.text)) {
      const h = normalHash(arg);
      const child = this.#firsts.get(h);
      if (child !== undefined) this.#report(child, link);
      if (this.#watched.get(h) === null) this.#watched.set(h, link);
      if (this.#spawns.has(h)) continue;
      this.#spawns.set(h, link);
      if (this.#keep !== "all" && this.#spawns.size > KEPT_SPAWNS) {
        this.#spawns.delete(this.#spawns.keys().next().value!);
      }
    }
  }

  /**
   * Remembers a new thread's first user texts: a tool call that passed one of them spawned it.
   * A digest-only builder remembers them for the listed threads only, and watches for the
   * calls (which come after the subagent's requests, in its parent's next request).
   */
  #noteFirstTexts(id: number, hashes: string[]): void {
    for (const h of hashes) {
      const link = this.#spawns.get(h);
      if (link) this.#report(id, link); // a call seen before its subagent began (background)
      this.#firsts.delete(h);
      this.#firsts.set(h, id);
      if (this.#firsts.size > KEPT_FIRSTS) this.#firsts.delete(this.#firsts.keys().next().value!);
    }
    if (this.#keep !== "all") {
      if (id > LISTED_ROWS) return;
      for (const h of hashes) {
        if (!this.#watched.has(h)) this.#watched.set(h, this.#spawns.get(h) ?? null);
      }
    }
    this.#firstTexts.set(id, hashes);
  }

  #report(conversation: number, link: SpawnLink): void {
    if (link.conversation === conversation || this.#reported.has(conversation)) return;
    this.#reported.add(conversation);
    if (this.#reported.size > KEPT_FIRSTS) {
      this.#reported.delete(this.#reported.values().next().value!);
    }
    // Writers that never ask (analyze, the viewer) keep only the latest.
    if (this.#spawned.length >= KEPT_FIRSTS) this.#spawned.shift();
    this.#spawned.push({ conversation, link });
  }

  /**
   * Subagent threads linked to their spawning call by the exchanges added since the last call,
   * each once: as soon as both the thread's first request and the call (in its parent's next
   * request, after the subagent ran) have been seen. For writers that go exchange by exchange
   * (OTLP); the built model has the same links as `Conversation.parent`.
   */
  spawned(): Spawned[] {
    const out = this.#spawned;
    this.#spawned = [];
    return out;
  }

  #spawnOf(hash: string): SpawnLink | undefined {
    return (this.#keep !== "all" ? this.#watched.get(hash) : this.#spawns.get(hash)) ??
      undefined;
  }

  /** The names of a request's prefix elements, their strings shared across requests. */
  #shape(facts: RequestFacts): PrefixShape {
    const tags = this.#tagList;
    const tag = (text: string): number | undefined => {
      let id = this.#tags.get(text);
      if (id === undefined && tags.length < MAX_TAGS) {
        id = tags.push(text) - 1;
        this.#tags.set(text, id);
      }
      return id;
    };
    const tools = facts.tools.map((t) => tags[tag(t.name) ?? -1] ?? t.name);
    const names = facts.items.map((it) => `${it.role} ${it.kind.replace("_", " ")}`);
    const ids = names.map(tag);
    return {
      order: facts.order,
      system: facts.system !== undefined,
      tools,
      items: ids.every((id) => id !== undefined) ? Uint16Array.from(ids as number[]) : names,
      tags,
    };
  }

  #event(conv: Conversation, event: ConversationEvent): void {
    // Only the whole model keeps a conversation's events: a long thread's would grow with it.
    if (this.#keep === "all") conv.events.push(event);
    else if (this.#keep === "stream") this.#events.push({ conversation: conv.id, ...event });
    const d = this.#digest;
    d.eventCount++;
    insertCapped(
      d.events,
      { conversation: conv.id, event },
      LISTED_ROWS,
      (a, b) => a.conversation < b.conversation,
    );
  }

  #cache(
    tokens: Tokens | null,
    st: ConvState,
    hashes: PrefixHashes,
    shape: PrefixShape,
    start: number,
  ): CacheDiagnostics {
    if (!tokens || tokens.input === 0) {
      return {
        read: tokens?.cached ?? 0,
        write: tokens?.cacheWrite ?? 0,
        hitRate: null,
        miss: null,
      };
    }
    const hitRate = tokens.cached / tokens.input;
    const diag: CacheDiagnostics = {
      read: tokens.cached,
      write: tokens.cacheWrite,
      hitRate,
      miss: null,
    };
    const prev = st.hitRate;
    if (prev === null || prev - hitRate < MISS_DROP || tokens.input < MIN_DIAGNOSED_INPUT) {
      return diag;
    }
    const gap = Math.max(0, start - st.lastStart);
    let changed: string | null = null;
    const prefix = prefixOf(shape.order, hashes);
    const before = prefixOf(st.shape.order, {
      system: st.systemHash,
      tools: st.toolHashes,
      items: st.itemHashes,
    });
    const n = Math.min(prefix.length, before.length);
    for (let i = 0; i < n; i++) {
      if (prefix[i] !== before[i]) {
        changed = prefixLabel(shape, i);
        break;
      }
    }
    if (changed === null && prefix.length < before.length) {
      changed = `${prefixLabel(st.shape, prefix.length)} (no longer sent)`;
    }
    const pct = (r: number) => `${Math.round(r * 100)}%`;
    const reason = changed !== null
      ? `cache ${pct(prev)} → ${pct(hitRate)}: ${changed} changed, so the cached prefix ended there`
      : gap > CACHE_TTL_SECONDS
      ? `cache ${pct(prev)} → ${pct(hitRate)}: the prefix is unchanged; ${
        Math.round(gap)
      } s since the previous turn, longer than a 5-minute cache lifetime`
      : `cache ${pct(prev)} → ${pct(hitRate)}: the prefix is unchanged; the server did not ` +
        `reuse its cache (another server or an evicted entry)`;
    diag.miss = { from: prev, to: hitRate, changed, reason, gapSeconds: Math.round(gap) };
    return diag;
  }

  /** The session as it stands (callable at any time; the live viewer asks repeatedly). */
  build(): Session {
    const s = this.#session;
    s.apis = [...this.#apis.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
    s.durationMs = s.start !== null && s.end !== null ? ms(s.end - s.start) : null;
    s.problems = this.#problemExchanges;
    if (!this.#priced) s.cost = null;
    for (const c of s.conversations) {
      c.cacheHitRate = c.tokens.input > 0 ? c.tokens.cached / c.tokens.input : null;
      if (c.parent !== null) continue;
      for (const h of this.#firstTexts.get(c.id) ?? []) {
        const link = this.#spawnOf(h);
        if (link && link.conversation !== c.id) {
          c.parent = link;
          const parent = this.#convs.get(link.conversation)?.conv ??
            this.#listed.get(link.conversation)?.conversation;
          if (parent && !parent.children.includes(c.id)) parent.children.push(c.id);
          break;
        }
      }
    }
    return s;
  }

  /** What the report sections show (complete with any `keep`); call after {@link build}. */
  digest(): SessionDigest {
    return this.#digest;
  }

  /**
   * With "stream": the conversations that ended since the last call (their thread group was
   * forgotten: no later request can join them), each once. `finish` ends the rest (the
   * capture is over), in the order they began.
   */
  ended(finish = false): ConversationRecord[] {
    if (finish && this.#keep === "stream") {
      for (const st of this.#convs.values()) this.#ended.push(record(st));
      this.#convs.clear();
      this.#groups.clear();
      this.#groupAt.clear();
    }
    const out = this.#ended;
    this.#ended = [];
    return out;
  }

  /** With "stream": the compactions and model switches seen since the last call. */
  events(): SessionEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }
}

/** A conversation as `--format json` lists it, once it has ended. */
function record(st: ConvState): ConversationRecord {
  const c = st.conv;
  return {
    id: c.id,
    basis: c.basis,
    api: c.api,
    model: c.model,
    title: c.title,
    tokens: c.tokens,
    subCalls: c.subCalls,
    cost: c.cost,
    cacheHitRate: c.tokens.input > 0 ? c.tokens.cached / c.tokens.input : null,
    turnCount: st.turns,
    firstTurn: st.firstIndex,
    lastTurn: st.lastIndex,
  };
}

function ms(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** Bytes per part, and tokens estimated from them, scaled to the reported input when known. */
export function composition(
  bytes: Record<ContextPart, number>,
  reportedInput: number | undefined,
): ContextComposition {
  const estimate = zeroParts();
  let total = 0;
  for (const k of Object.keys(bytes) as ContextPart[]) {
    estimate[k] = bytes[k] / BYTES_PER_TOKEN;
    total += estimate[k];
  }
  const factor = reportedInput && total > 0 ? reportedInput / total : 1;
  const calibrated = Boolean(reportedInput && total > 0) && factor <= MAX_CALIBRATION;
  const tokens = zeroParts();
  for (const k of Object.keys(bytes) as ContextPart[]) {
    tokens[k] = Math.round(estimate[k] * (calibrated ? factor : 1));
  }
  return { bytes, tokens, calibrated, factor: Math.round(factor * 1000) / 1000 };
}
