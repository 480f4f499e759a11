/**
 * Per-turn delta view. Agents resend the whole conversation on every request, so the report
 * groups requests into conversations and shows, for each request, only what is new since the
 * previous request of its conversation; the system prompt and tools are shown in full once,
 * then as "unchanged" or as a compact diff.
 */
import { getHeader } from "./headers.ts";
import { IdleClock, overdue, type RecencyBounds } from "./idle_clock.ts";
import { plural } from "./plural.ts";
import { MIN_REFERRED, ShownBefore, shownText } from "./shown_before.ts";
import { hashNumber, hashText, itemKey } from "./text_hash.ts";
import type { Block, ExchangeRef, Headers, RequestParts } from "./types.ts";

/**
 * An item's or tool definition's identity as an idle conversation keeps it: a number, eight
 * bytes in an array, where its base-36 text took forty (a remembered long conversation's keys
 * were most of what the tracker held).
 */
function hashedKey(value: unknown): number {
  return hashNumber(itemKey(value));
}

/**
 * Whether two JSON values have the same JSON text (`itemKey`), keys in the same order, without
 * building it: equal strings compare natively, which keeps the per-turn delta off the profile
 * of a large capture (stringifying every item cost more than parsing it). Idle conversations
 * keep hashes of `itemKey` instead, so both compare the same way.
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Same keys in the same order. x's keys are walked in place; y's key at each position is
  // found by walking y's keys again, which allocates nothing, while the objects are small (as
  // those of API payloads are): a key array per object compared was a third of the analyzer's
  // allocations outside the parse of the capture. Larger objects take y's keys as an array.
  let ky: string[] | undefined;
  let i = 0;
  for (const k in x) {
    const expected = ky !== undefined
      ? ky[i]
      : i < SMALL_OBJECT
      ? keyAt(y, i)
      : (ky = Object.keys(y))[i];
    if (k !== expected || !sameJson(x[k], y[k])) return false;
    i++;
  }
  return ky !== undefined ? i === ky.length : keyAt(y, i) === undefined;
}

/** Keys looked up by walking the object (see {@link sameJson}); past this, an array. */
const SMALL_OBJECT = 8;

/** The `i`-th own enumerable key of `o` (for-in order), or undefined. */
function keyAt(o: Record<string, unknown>, i: number): string | undefined {
  let n = 0;
  for (const k in o) if (n++ === i) return k;
  return undefined;
}

/** The complete rendering of a request from its parts (the `--full` view). */
export function fullRequestBlocks(parts: RequestParts): Block[] {
  const blocks: Block[] = [];
  if (parts.fields.length > 0) blocks.push({ kind: "fields", rows: parts.fields });
  if (parts.system) blocks.push(...parts.system.blocks());
  const items = parts.items;
  if (items) {
    const rows = items.keys.map((_, i) => items.row(i));
    blocks.push(
      { kind: "heading", text: `${items.title} (${items.keys.length})` },
      { kind: "table", header: items.header, rows },
      ...fullTextBlocks(items, 0, rows),
    );
  }
  if (parts.tools) blocks.push(...parts.tools.blocks());
  blocks.push(...parts.extra);
  return blocks;
}

/**
 * "Item N in full:" and the text, for each item from `from` on whose row shows only an excerpt
 * (`rows` are the table rows of those items; N is a row's first cell).
 */
function fullTextBlocks(
  items: NonNullable<RequestParts["items"]>,
  from: number,
  rows: string[][],
): Block[] {
  const blocks: Block[] = [];
  for (let i = from; i < items.keys.length; i++) {
    const text = items.full(i);
    if (text !== undefined) {
      blocks.push(
        { kind: "paragraph", text: `Item ${rows[i - from]?.[0] ?? i + 1} in full:` },
        { kind: "code", text, lang: "text" },
      );
    }
  }
  return blocks;
}

/** What the report remembers of one conversation: only what the next request is compared to. */
export interface Conversation {
  /** 1-based, in order of first appearance. */
  id: number;
  /** How the requests were grouped (shown to the reader). */
  basis: string;
  requests: number;
  /** Exchange index of the conversation's latest request. */
  lastIndex: number;
  model?: string;
  /**
   * The item identities of the latest request: the values themselves while the conversation is
   * live, their hashed JSON text once it is idle (`hashed`).
   */
  itemKeys: unknown[];
  system?: { text: string; index: number };
  tools?: { fingerprints: Record<string, unknown>; index: number };
  /** Keys, system text and tool fingerprints are stored hashed (an idle conversation). */
  hashed: boolean;
  /**
   * The shared prefix the tracker measured when it matched a request to this conversation by
   * history: the delta view reuses it rather than comparing the history a second time.
   */
  matched?: { keys: readonly unknown[]; shared: number };
}

/** Conversations whose keys are kept as full text; older ones are compacted to hashes. */
const LIVE_CONVERSATIONS = 16;

/**
 * Conversations remembered at all (hashed, beyond the live ones), the most recently active
 * first: a conversation idle while this many others were active is forgotten, and a later
 * request of it starts a new conversation (shown in full). Memory and the time to match a
 * request by its history stay bounded whatever the capture holds (thousands of short
 * conversations, a week of captures); agents run a handful of conversations at once.
 */
export const TRACKED_CONVERSATIONS = 256;

/**
 * Seconds of capture time after which a conversation that is not among the
 * {@link ACTIVE_CONVERSATIONS} most recently active is forgotten, before the count limit is
 * reached: a capture of a day holds hundreds of ended conversations, and what the analysis
 * holds should follow how many run at once, not how many the capture has had. A request that
 * resumes one after an hour while 64 others ran starts a new conversation (shown in full).
 */
export const IDLE_SECONDS = 3600;

/**
 * The most recently active conversations, never forgotten for being idle: a capture of a few
 * dozen conversations (one developer's day, paused for lunch) keeps every grouping.
 */
export const ACTIVE_CONVERSATIONS = 64;

/** Response ids remembered per conversation (a request continues one of its latest). */
const RESPONSE_IDS_PER_CONVERSATION = 4;

/**
 * Headers that carry a session or conversation id under a common name; the targets name their
 * agents' own (`Target.sessionHeaders`).
 */
const SESSION_HEADERS = ["session_id", "session-id", "x-session-id"];

/** Assigns requests to conversations, in capture order. */
export class ConversationTracker {
  /** The conversations remembered, least recently active first (a Map keeps insertion order). */
  #tracked = new Map<Conversation, Remembered>();
  #created = 0;
  #byKey = new Map<string, Conversation>();
  #byResponse = new Map<string, Conversation>();
  /** Conversations with full-text keys, least recently used first. */
  #live: Conversation[] = [];
  #sessionHeaders: readonly string[];
  #bounds: RecencyBounds;
  #clock = new IdleClock();
  #shownSystems = new ShownBefore();
  #shownTools = new ShownBefore();

  /**
   * `sessionHeaders`: the agents' own session headers, looked at after the common names;
   * `limit`: how many conversations are remembered ({@link TRACKED_CONVERSATIONS}).
   */
  constructor(sessionHeaders: readonly string[] = [], limit = TRACKED_CONVERSATIONS) {
    this.#sessionHeaders = [...new Set([...SESSION_HEADERS, ...sessionHeaders])];
    this.#bounds = {
      cap: Math.max(limit, 1),
      floor: ACTIVE_CONVERSATIONS,
      idleSeconds: IDLE_SECONDS,
    };
  }

  /** The session id a request's headers carry (the first session header present), if any. */
  sessionId(headers: Headers): string | undefined {
    for (const name of this.#sessionHeaders) {
      const value = getHeader(headers, name);
      if (value) return value;
    }
    return undefined;
  }

  /**
   * The conversation of a request with these parts (a new one when nothing matches); `at`, the
   * capture time in seconds of the exchange's latest activity (a WebSocket's last frame, not
   * its opening), lets conversations idle for {@link IDLE_SECONDS} go.
   */
  assign(parts: RequestParts, headers: Headers, format: string, at?: number): Conversation {
    const conv = this.#find(parts, headers, format);
    this.#touch(conv, at);
    return conv;
  }

  #touch(conv: Conversation, time: number | undefined): void {
    const now = this.#clock.tick(conv, time);
    const live = this.#live.indexOf(conv);
    if (live !== -1) this.#live.splice(live, 1);
    this.#live.push(conv);
    if (this.#live.length > LIVE_CONVERSATIONS) compact(this.#live.shift()!);
    const remembered = this.#tracked.get(conv) ?? { responseIds: [] };
    if (now !== undefined) remembered.at = Math.max(time!, remembered.at ?? time!);
    this.#tracked.delete(conv);
    this.#tracked.set(conv, remembered);
    // The least recently active first: stop at the first one that may stay.
    for (const [oldest, { at: last }] of this.#tracked) {
      if (!overdue(this.#tracked.size, last, now, this.#bounds)) break;
      this.#forget(oldest);
    }
  }

  /** Drops an idle conversation and every way of finding it. */
  #forget(conv: Conversation): void {
    const remembered = this.#tracked.get(conv);
    this.#tracked.delete(conv);
    if (!remembered) return;
    if (remembered.key !== undefined) this.#byKey.delete(remembered.key);
    for (const id of remembered.responseIds) {
      if (this.#byResponse.get(id) === conv) this.#byResponse.delete(id);
    }
    const at = this.#live.indexOf(conv);
    if (at !== -1) this.#live.splice(at, 1);
  }

  #find(parts: RequestParts, headers: Headers, format: string): Conversation {
    if (parts.continues) {
      const conv = this.#byResponse.get(parts.continues);
      if (conv) return conv;
    }
    let key = parts.conversationKey ? `${format} ${parts.conversationKey}` : undefined;
    let basis = parts.conversationKey ? `conversation key ${parts.conversationKey}` : "";
    if (!key) {
      for (const name of this.#sessionHeaders) {
        const value = getHeader(headers, name);
        if (value) {
          key = `${format} ${name} ${value}`;
          basis = `${name} header ${value}`;
          break;
        }
      }
    }
    if (key) {
      let conv = this.#byKey.get(key);
      if (!conv) {
        conv = this.#create(basis, parts.model, key);
        this.#byKey.set(key, conv);
      }
      return conv;
    }
    const keys = parts.items?.keys ?? [];
    let hashedKeys: number[] | undefined;
    let firstHash: number | undefined;
    let best: Conversation | undefined;
    let bestShared = 0;
    for (const conv of this.#tracked.keys()) {
      if (parts.model && conv.model && parts.model !== conv.model) continue;
      if (conv.itemKeys.length === 0 || keys.length === 0) continue;
      const first = conv.hashed ? (firstHash ??= hashedKey(keys[0])) : keys[0];
      if (!sameJson(conv.itemKeys[0], first)) {
        continue; // a cheap look at the first item before the whole prefix
      }
      const shared = conv.hashed
        ? sharedPrefix(conv.itemKeys, hashedKeys ??= keys.map(hashedKey))
        : sharedPrefix(conv.itemKeys, keys);
      if (shared > 0 && shared >= bestShared) {
        best = conv;
        bestShared = shared;
      }
    }
    if (best) best.matched = { keys, shared: bestShared };
    return best ?? this.#create("shared history", parts.model);
  }

  /**
   * `delta` with the exchanges that showed, for another conversation, the system prompt and
   * the tools this request shows in full (its conversation's first); those it shows are noted.
   */
  shownBefore(parts: RequestParts, delta: RequestDelta, index: number): RequestDelta {
    const out = { ...delta };
    if (parts.system && !delta.prevSystem) {
      const earlier = shownEarlier(this.#shownSystems, parts.system, parts.system.text, index);
      if (earlier !== undefined) out.systemShown = earlier;
    }
    if (parts.tools && !delta.prevTools) {
      const definitions = itemKey(parts.tools.fingerprints);
      const earlier = shownEarlier(this.#shownTools, parts.tools, definitions, index);
      if (earlier !== undefined) out.toolsShown = earlier;
    }
    return out;
  }

  /** Remembers a response id, so requests that continue it join its conversation. */
  noteResponse(conv: Conversation, responseId: string): void {
    const remembered = this.#tracked.get(conv);
    if (!remembered) return; // forgotten already: nothing will find it
    this.#byResponse.set(responseId, conv);
    remembered.responseIds.push(responseId);
    if (remembered.responseIds.length > RESPONSE_IDS_PER_CONVERSATION) {
      const old = remembered.responseIds.shift()!;
      if (this.#byResponse.get(old) === conv) this.#byResponse.delete(old);
    }
  }

  /** How many conversations there were (remembered or not). */
  get count(): number {
    return this.#created;
  }

  /** How many conversations are remembered now (at most the limit). */
  get tracked(): number {
    return this.#tracked.size;
  }

  #create(basis: string, model: string | undefined, key?: string): Conversation {
    const conv: Conversation = {
      id: ++this.#created,
      basis,
      requests: 0,
      lastIndex: 0,
      model,
      itemKeys: [],
      hashed: false,
    };
    this.#tracked.set(conv, { key, responseIds: [] });
    return conv;
  }
}

/**
 * The exchange that showed `part` in full before (see {@link ShownBefore}), unless its `text`
 * is too short to be worth a reference; `index` is noted as showing it otherwise.
 */
function shownEarlier(
  shown: ShownBefore,
  part: { title: string; blocks(): Block[] },
  text: string,
  index: number,
): number | undefined {
  if (text.length < MIN_REFERRED) return undefined;
  return shown.earlier(shownText(part.title, part.blocks()), index);
}

/** How a remembered conversation is found, so forgetting it leaves nothing behind. */
interface Remembered {
  key?: string;
  responseIds: string[];
  /** Capture time of its latest request, when the caller gives one. */
  at?: number;
}

/** Replaces a conversation's remembered texts by hashes: it keeps working, in less memory. */
function compact(conv: Conversation): void {
  if (conv.hashed) return;
  conv.hashed = true;
  conv.itemKeys = conv.itemKeys.map(hashedKey);
  if (conv.system) conv.system.text = hashText(conv.system.text);
  if (conv.tools) {
    conv.tools.fingerprints = Object.fromEntries(
      Object.entries(conv.tools.fingerprints).map(([k, v]) => [k, hashedKey(v)]),
    );
  }
}

/** The length of the common prefix of two identity lists (hashes, or values compared as JSON). */
function sharedPrefix(a: readonly unknown[], b: readonly unknown[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && sameJson(a[i], b[i])) i++;
  return i;
}

/**
 * What a request changes in its conversation, measured against the conversation's state
 * without changing it (see {@link requestDelta}): what the delta view shows
 * ({@link deltaBlocks}) and what the conversation becomes ({@link advanceConversation}).
 */
export interface RequestDelta {
  /** The conversation's first request. */
  first: boolean;
  /** The system prompt as the conversation stores it (hashed when idle). */
  system?: string;
  /** The previous request's system prompt as stored, and the exchange that sent it. */
  prevSystem?: { text: string; index: number };
  /** The item identities as the conversation stores them. */
  itemKeys?: unknown[];
  /** Items unchanged from the previous request (a prefix), and how many it had. */
  shared: number;
  prevItems: number;
  /** Tool fingerprints as stored, and the previous request's. */
  tools?: Record<string, unknown>;
  prevTools?: { fingerprints: Record<string, unknown>; index: number };
  /** The old texts are only hashes: a changed system prompt cannot be diffed. */
  hashed: boolean;
  /** The exchange that showed this system prompt in full, for another conversation. */
  systemShown?: number;
  /** The exchange that showed these tools in full, for another conversation. */
  toolsShown?: number;
}

/** Measures what `parts` change in `conv`; pure (the conversation is left as it was). */
export function requestDelta(parts: RequestParts, conv: Conversation): RequestDelta {
  const delta: RequestDelta = {
    first: conv.requests === 0,
    shared: 0,
    prevItems: conv.itemKeys.length,
    hashed: conv.hashed,
  };
  const form = (text: string) => conv.hashed ? hashText(text) : text;
  if (parts.system) {
    delta.system = form(parts.system.text);
    if (conv.system) delta.prevSystem = conv.system;
  }
  if (parts.items) {
    const keys = conv.hashed ? parts.items.keys.map(hashedKey) : parts.items.keys;
    const matched = conv.matched?.keys === parts.items.keys ? conv.matched.shared : undefined;
    delta.itemKeys = keys;
    delta.shared = parts.continues ? 0 : matched ?? sharedPrefix(conv.itemKeys, keys);
  }
  if (parts.tools) {
    delta.tools = conv.hashed
      ? Object.fromEntries(
        Object.entries(parts.tools.fingerprints).map(([k, v]) => [k, hashedKey(v)]),
      )
      : parts.tools.fingerprints;
    if (conv.tools) delta.prevTools = conv.tools;
  }
  return delta;
}

/** How the delta view names an earlier request: "#12" for exchange 12 of the report. */
export type RequestLabel = (index: number) => string;

const exchangeLabel: RequestLabel = (index) => `#${index}`;

/**
 * A paragraph of texts and earlier requests named by `label`; with the report's own labels,
 * each names its exchange (`refs`) so the HTML report links it, and only those: a tool named
 * "#2" stays text.
 */
function labelled(pieces: (string | { index: number })[], label: RequestLabel): Block {
  let text = "";
  const refs: ExchangeRef[] = [];
  for (const piece of pieces) {
    if (typeof piece === "string") {
      text += piece;
      continue;
    }
    const name = label(piece.index);
    if (label === exchangeLabel) {
      refs.push({ at: text.length, length: name.length, index: piece.index });
    }
    text += name;
  }
  return refs.length > 0 ? { kind: "paragraph", text, refs } : { kind: "paragraph", text };
}

/**
 * The delta rendering of a request within its conversation: only what changed since the
 * previous request (the first one whole). Pure: `label` names earlier requests ("#N" by
 * default; a renderer of turns inside one exchange names them its own way).
 */
export function deltaBlocks(
  parts: RequestParts,
  delta: RequestDelta,
  label: RequestLabel = exchangeLabel,
): Block[] {
  const blocks: Block[] = [];
  const said = (...pieces: (string | { index: number })[]) => labelled(pieces, label);
  if (parts.fields.length > 0) blocks.push({ kind: "fields", rows: parts.fields });

  if (parts.system) {
    const prev = delta.prevSystem;
    if (!prev && delta.systemShown !== undefined) {
      blocks.push(
        said(
          `${parts.system.title}: the same as `,
          { index: delta.systemShown },
          `'s (${parts.system.text.length} characters).`,
        ),
      );
    } else if (!prev) blocks.push(...parts.system.blocks());
    else if (prev.text === delta.system) {
      blocks.push(
        said(
          `${parts.system.title}: unchanged since `,
          prev,
          ` (${parts.system.text.length} characters).`,
        ),
      );
    } else if (delta.hashed) {
      // The old text is gone (only its hash was kept): show the new one whole.
      blocks.push(
        { kind: "heading", text: `${parts.system.title} (changed since ${label(prev.index)})` },
        ...parts.system.blocks().filter((b) => b.kind !== "heading"),
      );
    } else {
      blocks.push(
        { kind: "heading", text: `${parts.system.title} (changed since ${label(prev.index)})` },
        { kind: "code", text: lineDiff(prev.text, parts.system.text), lang: "diff" },
      );
    }
  }

  if (parts.items) {
    const { row, header, title } = parts.items;
    const count = parts.items.keys.length;
    const { shared, prevItems } = delta;
    let note: string;
    if (parts.continues) {
      note = `continues ${parts.continues}; ${
        count === 1 ? "its 1 item is" : `all ${count} items are`
      } new`;
    } else if (delta.first) note = plural(count, "item");
    else if (shared === prevItems) {
      note = `${count - shared} new, ${plural(shared, "earlier item")} unchanged`;
    } else {
      note = `history changed: ${plural(shared, "earlier item")} unchanged, ${
        plural(prevItems - shared, "earlier item")
      } no longer sent (compacted or edited), ${count - shared} shown`;
    }
    blocks.push({ kind: "heading", text: `${title}: ${note}` });
    const fresh: string[][] = [];
    for (let i = shared; i < count; i++) fresh.push(row(i));
    if (fresh.length > 0) blocks.push({ kind: "table", header, rows: fresh });
    blocks.push(...fullTextBlocks(parts.items, shared, fresh));
  }

  if (parts.tools && delta.tools) {
    const prev = delta.prevTools;
    const now = delta.tools;
    const count = Object.keys(now).length;
    if (!prev && delta.toolsShown !== undefined) {
      blocks.push(
        said(`${parts.tools.title}: the same ${count} as `, { index: delta.toolsShown }, "'s."),
      );
    } else if (!prev) blocks.push(...parts.tools.blocks());
    else {
      const added = Object.keys(now).filter((n) => !(n in prev.fingerprints));
      const removed = Object.keys(prev.fingerprints).filter((n) => !(n in now));
      const changed = Object.keys(now).filter((n) =>
        n in prev.fingerprints && !sameJson(prev.fingerprints[n], now[n])
      );
      if (added.length + removed.length + changed.length === 0) {
        blocks.push(said(`${parts.tools.title}: ${count} unchanged since `, prev, "."));
      } else {
        const what = [
          added.length ? `added ${added.join(", ")}` : "",
          removed.length ? `removed ${removed.join(", ")}` : "",
          changed.length ? `changed ${changed.join(", ")}` : "",
        ].filter(Boolean).join("; ");
        blocks.push(said(`${parts.tools.title} changed since `, prev, `: ${what}.`));
        blocks.push(...parts.tools.blocks());
      }
    }
  }

  blocks.push(...parts.extra);
  return blocks;
}

/** The state step: `conv` becomes the conversation as of this request (exchange `index`). */
export function advanceConversation(
  conv: Conversation,
  parts: RequestParts,
  delta: RequestDelta,
  index: number,
): void {
  conv.matched = undefined;
  if (delta.system !== undefined) conv.system = { text: delta.system, index };
  if (delta.itemKeys) conv.itemKeys = delta.itemKeys;
  if (delta.tools) conv.tools = { fingerprints: delta.tools, index };
  conv.requests++;
  conv.lastIndex = index;
  conv.model ??= parts.model;
}

/** Longest inputs (in lines) diffed line by line; beyond that the new text is shown whole. */
const MAX_DIFF_CELLS = 4_000_000;

/**
 * A compact line diff: `-`/`+` for removed/added lines, unchanged runs folded to one
 * `  … N unchanged lines` marker (keeping one line of context either side).
 */
export function lineDiff(before: string, after: string): string {
  const a = before.split("\n");
  const b = after.split("\n");
  if (a.length * b.length > MAX_DIFF_CELLS) {
    return `(too long to diff: ${a.length} → ${b.length} lines; new text follows)\n${after}`;
  }
  // LCS table over suffixes, one row of Uint32 per line of `a`.
  const rows = a.length + 1;
  const cols = b.length + 1;
  const lcs = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * cols + j] = a[i] === b[j]
        ? lcs[(i + 1) * cols + j + 1] + 1
        : Math.max(lcs[(i + 1) * cols + j], lcs[i * cols + j + 1]);
    }
  }
  const ops: [" " | "-" | "+", string][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([" ", a[i]]);
      i++;
      j++;
    } else if (
      i < a.length && (j === b.length || lcs[(i + 1) * cols + j] >= lcs[i * cols + j + 1])
    ) {
      ops.push(["-", a[i++]]); // removals before additions, as in unified diffs
    } else ops.push(["+", b[j++]]);
  }
  const out: string[] = [];
  for (let k = 0; k < ops.length;) {
    if (ops[k][0] !== " ") {
      out.push(`${ops[k][0]} ${ops[k][1]}`);
      k++;
      continue;
    }
    let end = k;
    while (end < ops.length && ops[end][0] === " ") end++;
    const run = end - k;
    const keepBefore = k > 0 ? 1 : 0;
    const keepAfter = end < ops.length ? 1 : 0;
    if (run <= keepBefore + keepAfter + 1) {
      for (let m = k; m < end; m++) out.push(`  ${ops[m][1]}`);
    } else {
      if (keepBefore) out.push(`  ${ops[k][1]}`);
      out.push(`  … ${run - keepBefore - keepAfter} unchanged lines`);
      if (keepAfter) out.push(`  ${ops[end - 1][1]}`);
    }
    k = end;
  }
  return out.join("\n");
}
