/**
 * Summary statistics of a capture, accumulated one entry at a time (constant memory apart
 * from the distinct endpoints, statuses and key paths, which are bounded).
 */
import type { Entry, RecordedMessage, SseEvent } from "./types.ts";

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
 * Payload-structure key naming: object keys are joined with `.`, and array elements add `[]`
 * to the path of the array (`input[].content[].text`). Each body counts a path once however
 * often it occurs inside. An SSE body counts as the array of its events' JSON data, so its
 * keys start with `[]` (`[].type`, `[].response.usage.input_tokens`).
 */
export function collectKeyPaths(
  value: unknown,
  prefix: string,
  depth: number,
  seen: Map<string, Set<JsonType>>,
): void {
  if (depth > MAX_KEY_DEPTH) return;
  if (Array.isArray(value)) {
    const path = prefix + "[]";
    for (const item of value) {
      if (item !== null && typeof item === "object") collectKeyPaths(item, path, depth + 1, seen);
    }
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const key in value as Record<string, unknown>) {
    const child = (value as Record<string, unknown>)[key];
    const path = prefix === "" ? key : `${prefix}.${key}`;
    let types = seen.get(path);
    if (!types) {
      types = new Set();
      seen.set(path, types);
    }
    types.add(jsonType(child));
    if (child !== null && typeof child === "object") {
      collectKeyPaths(child, path, depth + 1, seen);
    }
  }
}

export function jsonType(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  return t === "string" || t === "number" || t === "boolean" || t === "object" ? t : "string";
}

/** UTF-8 byte length of a string, without allocating an encoded copy. */
export function utf8Length(s: string): number {
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

/** Size of a recorded body in bytes: the recorder's `body_size`, else measured. */
export function bodySize(message: RecordedMessage): number {
  if (typeof message.body_size === "number") return message.body_size;
  const body = message.body;
  if (body === null || body === undefined) return 0;
  if (typeof body === "string") {
    if (message.body_encoding === "base64") {
      const pad = body.endsWith("==") ? 2 : body.endsWith("=") ? 1 : 0;
      return Math.floor(body.length * 3 / 4) - pad;
    }
    return utf8Length(body);
  }
  return utf8Length(JSON.stringify(body));
}

/** Path of a URL without scheme, host, query or fragment; the raw string if it is no URL. */
export function urlPath(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  const path = m ? m[1] : url.replace(/[?#].*$/, "");
  return path === "" ? "/" : path;
}

class KeyTable {
  #paths = new Map<string, { count: number; types: Set<JsonType> }>();
  #dropped = false;

  addBody(seen: Map<string, Set<JsonType>>): void {
    for (const [path, types] of seen) {
      let stat = this.#paths.get(path);
      if (!stat) {
        if (this.#paths.size >= MAX_KEY_PATHS) {
          this.#dropped = true;
          continue;
        }
        stat = { count: 0, types: new Set() };
        this.#paths.set(path, stat);
      }
      stat.count++;
      for (const t of types) stat.types.add(t);
    }
  }

  top(n: number): KeyStat[] {
    return [...this.#paths.entries()]
      .map(([path, s]) => ({ path, count: s.count, types: [...s.types].sort() }))
      .sort((a, b) => b.count - a.count || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, n);
  }

  get distinct(): number {
    return this.#paths.size;
  }

  get truncated(): boolean {
    return this.#dropped;
  }
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
  #methods = new Map<string, number>();
  #statuses = new Map<string, number>();

  /** Adds one entry; `events` are its already-parsed SSE events, if the body was a stream. */
  add(entry: Entry, events?: readonly SseEvent[]): void {
    this.requests++;
    this.firstTimestamp = Math.min(this.firstTimestamp, entry.timestamp);
    this.lastTimestamp = Math.max(this.lastTimestamp, entry.timestamp);
    const { request, response } = entry;
    this.requestBytes += bodySize(request);
    if (response) this.responseBytes += bodySize(response);

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

    const reqSeen = new Map<string, Set<JsonType>>();
    collectKeyPaths(request.body, "", 0, reqSeen);
    this.requestKeys.addBody(reqSeen);

    if (response) {
      const resSeen = new Map<string, Set<JsonType>>();
      if (events) {
        for (const ev of events) {
          const data = parseJsonObject(ev.data);
          if (data !== undefined) collectKeyPaths(data, "[]", 1, resSeen);
        }
      } else {
        collectKeyPaths(response.body, "", 0, resSeen);
      }
      this.responseKeys.addBody(resSeen);
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

function parseJsonObject(text: string): unknown {
  const c = text.charCodeAt(0);
  if (c !== 0x7b && c !== 0x5b) return undefined; // only objects and arrays have keys
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
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
