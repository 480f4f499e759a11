/**
 * Summary statistics of a capture, accumulated one entry at a time (constant memory apart
 * from the distinct endpoints, statuses and key paths, which are bounded).
 */
import { base64Bytes } from "./base64.ts";
import { eventJson } from "./sse.ts";
import type { Entry, RecordedMessage, SseEvent, WebSocketMessage } from "./types.ts";

/** A JSON value's type name as shown in the payload-structure tables. */
export type JsonType = "string" | "number" | "boolean" | "null" | "object" | "array";

export interface KeyStat {
  /** The key path (see {@link collectKeyPaths} for the naming). */
  path: string;
  /** How many bodies contain the path at least once. */
  count: number;
  types: JsonType[];
}

export interface EndpointStat {
  path: string;
  methods: string[];
  count: number;
}

/** Deepest nesting level of key paths recorded; deeper keys are data, not structure. */
export const MAX_KEY_DEPTH = 6;
/** Distinct key paths remembered per side; enough for any real API, bounded for hostile input. */
export const MAX_KEY_PATHS = 5000;
/**
 * Elements of a long array that are walked: the first and the last this many. Agents resend
 * the whole history on every request, so walking every element would cost as much as the
 * history is long, on every request; new items sit at the end, and the earlier ones were
 * walked when they were new.
 */
export const ARRAY_SAMPLE = 32;

const TYPE_BITS: Record<JsonType, number> = {
  string: 1,
  number: 2,
  boolean: 4,
  null: 8,
  object: 16,
  array: 32,
};
const TYPE_NAMES = Object.keys(TYPE_BITS) as JsonType[];

/** One key path in the trie of paths: counts without building path strings while walking. */
interface PathNode {
  key: string;
  parent: PathNode | undefined;
  children: Map<string, PathNode> | undefined;
  /** The `[]` child: the elements of an array at this path. */
  elements: PathNode | undefined;
  types: number;
  count: number;
  /** Number of the last body that contained this path, so a body counts once. */
  lastBody: number;
  /**
   * The children in the order the last object at this path listed its keys: objects of one
   * API come with their keys in one order, so a key is usually found by comparing it with the
   * next one here (JSON.parse interns keys) instead of hashing it into `children`.
   */
  order: PathNode[] | undefined;
}

function newNode(key: string, parent: PathNode | undefined): PathNode {
  return {
    key,
    parent,
    children: undefined,
    elements: undefined,
    types: 0,
    count: 0,
    lastBody: 0,
    order: undefined,
  };
}

/**
 * Payload-structure key naming: object keys are joined with `.`, and array elements add `[]`
 * to the path of the array (`input[].content[].text`). Each body counts a path once however
 * often it occurs inside. An SSE body counts as the array of its events' JSON data, so its
 * keys start with `[]` (`[].type`, `[].response.usage.input_tokens`).
 *
 * The paths form a trie walked in place, so visiting a key costs one map lookup and no
 * string building: this runs over every request body and every SSE event of a capture.
 */
export class KeyTable {
  #root = newNode("", undefined);
  #body = 0;
  #nodes = 0;
  #dropped = false;

  /** Starts a new body: paths seen from now on count once more. */
  beginBody(): void {
    this.#body++;
  }

  /** Adds the key paths of a JSON value to the current body (`inArray`: under `[]`). */
  add(value: unknown, inArray = false): void {
    if (value === null || typeof value !== "object") return;
    let node = this.#root;
    if (inArray) {
      node = this.#root.elements ??= this.#create("[]", this.#root);
    }
    this.#walk(value, node, inArray ? 1 : 0);
  }

  #create(key: string, parent: PathNode): PathNode {
    this.#nodes++;
    return newNode(key, parent);
  }

  #walk(value: object, node: PathNode, depth: number): void {
    if (depth > MAX_KEY_DEPTH) return;
    if (Array.isArray(value)) {
      let elements = node.elements;
      const n = value.length;
      const skipFrom = n > 2 * ARRAY_SAMPLE ? ARRAY_SAMPLE : n;
      const skipTo = n > 2 * ARRAY_SAMPLE ? n - ARRAY_SAMPLE : n;
      for (let i = 0; i < n; i++) {
        if (i === skipFrom) i = skipTo;
        const item = value[i];
        if (item === null || typeof item !== "object") continue;
        elements ??= node.elements = this.#create("[]", node);
        this.#walk(item, elements, depth + 1);
      }
      return;
    }
    const body = this.#body;
    const order = node.order ??= [];
    let at = 0;
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key];
      let next: PathNode | undefined = order[at];
      if (next === undefined || next.key !== key) {
        next = node.children?.get(key);
        if (!next) {
          if (this.#nodes >= MAX_KEY_PATHS) {
            this.#dropped = true;
            continue;
          }
          next = this.#create(key, node);
          (node.children ??= new Map()).set(key, next);
        }
        order[at] = next;
      }
      at++;
      next.types |= typeBit(child);
      if (next.lastBody !== body) {
        next.lastBody = body;
        next.count++;
      }
      if (child !== null && typeof child === "object") this.#walk(child, next, depth + 1);
    }
  }

  /** The `n` paths found in most bodies (ties by path). */
  top(n: number): KeyStat[] {
    return this.#counted()
      .map((node) => ({
        path: pathOf(node),
        count: node.count,
        types: TYPE_NAMES.filter((t) => node.types & TYPE_BITS[t]).sort(),
      }))
      .sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, n);
  }

  /** Distinct key paths seen (the `[]` element levels themselves are not keys). */
  get distinct(): number {
    return this.#counted().length;
  }

  /** True when paths were dropped because of {@link MAX_KEY_PATHS}. */
  get truncated(): boolean {
    return this.#dropped;
  }

  #counted(): PathNode[] {
    const all: PathNode[] = [];
    const visit = (node: PathNode) => {
      if (node.count > 0) all.push(node);
      if (node.children) { for (const child of node.children.values()) visit(child); }
      if (node.elements) visit(node.elements);
    };
    visit(this.#root);
    return all;
  }
}

/** The {@link TYPE_BITS} bit of a JSON value's type (strings for anything JSON does not have). */
function typeBit(value: unknown): number {
  switch (typeof value) {
    case "number":
      return TYPE_BITS.number;
    case "boolean":
      return TYPE_BITS.boolean;
    case "object":
      return value === null
        ? TYPE_BITS.null
        : Array.isArray(value)
        ? TYPE_BITS.array
        : TYPE_BITS.object;
    default:
      return TYPE_BITS.string;
  }
}

/** Any character outside ASCII. */
const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 byte length of a string, without allocating an encoded copy. */
export function utf8Length(s: string): number {
  // The regular expression's native scan finds most texts all ASCII (one byte a character)
  // in a fraction of the loop's time.
  if (!NON_ASCII.test(s)) return s.length;
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 4 bytes for the pair of 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Size of a recorded body in bytes: the recorder's `body_size`, else measured (JSON bodies as
 * their compact JSON text). `measure` counts UTF-8 bytes; the default allocates no buffer.
 */
export function bodySize(
  message: RecordedMessage,
  measure: (text: string) => number = utf8Length,
): number {
  if (typeof message.body_size === "number") return message.body_size;
  const body = message.body;
  if (body === null || body === undefined) return 0;
  if (typeof body === "string") {
    if (message.body_encoding === "base64") {
      return base64Bytes(body);
    }
    return measure(body);
  }
  return measure(JSON.stringify(body));
}

/**
 * Counts UTF-8 bytes natively (TextEncoder.encodeInto into a reused buffer): several times
 * faster than a JS loop on the large bodies of a capture, for one buffer per instance.
 */
class Utf8Counter {
  /** Characters encoded per step: bounds the buffer (3 bytes per UTF-16 unit at most). */
  static readonly CHUNK = 1 << 20;
  #encoder = new TextEncoder();
  #buffer = new Uint8Array(0);

  count = (text: string): number => {
    if (text.length < 256) return utf8Length(text);
    const need = Math.min(text.length, Utf8Counter.CHUNK) * 3;
    if (this.#buffer.length < need) this.#buffer = new Uint8Array(need);
    if (text.length <= Utf8Counter.CHUNK) {
      return this.#encoder.encodeInto(text, this.#buffer).written;
    }
    let bytes = 0;
    for (let i = 0; i < text.length;) {
      let end = Math.min(text.length, i + Utf8Counter.CHUNK);
      // Never split a surrogate pair: its halves would count as two replacement characters.
      const last = text.charCodeAt(end - 1);
      if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
      bytes += this.#encoder.encodeInto(text.slice(i, end), this.#buffer).written;
      i = end;
    }
    return bytes;
  };
}

/** Path of a URL without scheme, host, query or fragment; the raw string if it is no URL. */
export function urlPath(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  const path = m ? m[1] : url.replace(/[?#].*$/, "");
  return path === "" ? "/" : path;
}

function pathOf(node: PathNode): string {
  let path = "";
  for (let n: PathNode | undefined = node; n && n.parent; n = n.parent) {
    path = n.key === "[]" ? "[]" + path : (n.parent.parent ? "." : "") + n.key + path;
  }
  return path;
}

/** Accumulates everything the summary sections of the report need. */
export class CaptureStats {
  requests = 0;
  firstTimestamp = Infinity;
  lastTimestamp = -Infinity;
  requestBytes = 0;
  responseBytes = 0;
  readonly requestKeys = new KeyTable();
  readonly responseKeys = new KeyTable();
  #endpoints = new Map<string, { methods: Set<string>; count: number }>();
  #utf8 = new Utf8Counter();
  #methods = new Map<string, number>();
  #statuses = new Map<string, number>();

  /** Adds one entry; `events` are its already-parsed SSE events, if the body was a stream. */
  add(entry: Entry, events?: readonly SseEvent[]): void {
    this.requests++;
    this.firstTimestamp = Math.min(this.firstTimestamp, entry.timestamp);
    this.lastTimestamp = Math.max(this.lastTimestamp, entry.timestamp);
    const { request, response } = entry;
    this.requestBytes += bodySize(request, this.#utf8.count);
    if (response) this.responseBytes += bodySize(response, this.#utf8.count);

    const path = urlPath(request.url);
    let ep = this.#endpoints.get(path);
    if (!ep) {
      ep = { methods: new Set(), count: 0 };
      this.#endpoints.set(path, ep);
    }
    ep.methods.add(request.method);
    ep.count++;
    increment(this.#methods, request.method);
    increment(this.#statuses, statusLabel(entry));

    this.requestKeys.beginBody();
    this.requestKeys.add(request.body);
    if (entry.websocket) this.#addWebSocket(entry.websocket);

    if (response) {
      this.responseKeys.beginBody();
      if (events) {
        for (const ev of events) this.responseKeys.add(eventJson(ev), true);
      } else {
        this.responseKeys.add(response.body);
      }
    }
  }

  /**
   * A WebSocket's payload is its messages: client frames count as request bytes and keys,
   * server frames as response bytes (their keys come with the events the caller passes).
   */
  #addWebSocket(messages: readonly WebSocketMessage[]): void {
    for (const m of messages) {
      const size = m.text !== undefined
        ? this.#utf8.count(m.text)
        : m.base64 !== undefined
        ? bodySize({ headers: {}, body: m.base64, body_encoding: "base64" })
        : 0;
      if (m.from === "client") {
        this.requestBytes += size;
        if (m.text !== undefined && m.text.startsWith("{")) {
          try {
            this.requestKeys.add(JSON.parse(m.text), true);
          } catch {
            // not JSON: bytes only
          }
        }
      } else this.responseBytes += size;
    }
  }

  /** Seconds from the first to the last entry's timestamp. */
  get durationSeconds(): number {
    return this.requests === 0 ? 0 : this.lastTimestamp - this.firstTimestamp;
  }

  endpoints(): EndpointStat[] {
    return [...this.#endpoints.entries()]
      .map(([path, e]) => ({ path, methods: [...e.methods].sort(), count: e.count }))
      .sort((a, b) => b.count - a.count || compare(a.path, b.path));
  }

  methods(): [string, number][] {
    return sortedCounts(this.#methods);
  }

  statuses(): [string, number][] {
    return sortedCounts(this.#statuses);
  }
}

/** The status column of an entry: the code, or why there is none. */
export function statusLabel(entry: Entry): string {
  if (entry.response) return String(entry.response.status_code);
  if (entry.incomplete) return "incomplete";
  if (entry.error) return "error";
  return "no response";
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sortedCounts(map: Map<string, number>): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1] || compare(a[0], b[0]));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
