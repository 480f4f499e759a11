/**
 * HAR 1.2 (HTTP Archive) output: one capture entry → one HAR entry, and a writer that streams
 * a whole HAR document without holding the entries in memory.
 *
 * What HAR cannot say is kept in `_`-prefixed custom fields (allowed by HAR 1.2), so a HAR that
 * probe wrote reads back into the same entries: `_id`, `_proxy`, `_timing` (the exact epoch
 * seconds), `_error`, `_incomplete`, `_webSocketMessages` (Chrome's and mitmproxy's format) and
 * `postData._encoding`. Other tools ignore them.
 *
 * Known losses: the HTTP version is not recorded (written as HTTP/1.1, what the proxy speaks
 * to the agent); JSON bodies are re-serialised compactly; characters a URI may not hold are
 * percent-encoded in `url` (so `key=[REDACTED]` becomes `key=%5BREDACTED%5D`); a repeated
 * header is one header whose values are joined with ", ", as in the capture.
 */
import { STATUS_CODES } from "node:http";
import { getHeader } from "./headers.ts";
import { bodySize } from "./stats.ts";
import type { Entry, Headers, RecordedMessage, Timing, WebSocketMessage } from "./types.ts";
import { VERSION } from "./version.ts";
import { unsafeInText } from "./visible.ts";

/** A header, query parameter or form parameter. */
export interface HarNameValue {
  name: string;
  value: string;
  comment?: string;
}

/** A cookie (probe writes none: cookie headers are redacted). */
export interface HarCookie extends HarNameValue {
  path?: string;
  domain?: string;
  expires?: string;
  httpOnly?: boolean;
  secure?: boolean;
}

/** A request body. */
export interface HarPostData {
  mimeType: string;
  text?: string;
  params?: (HarNameValue & { fileName?: string; contentType?: string })[];
  comment?: string;
  /** probe's: "base64" when `text` holds base64 (HAR 1.2 has no encoding for postData). */
  _encoding?: "base64";
}

/** The request of a HAR entry. */
export interface HarRequest {
  method: string;
  url: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  queryString: HarNameValue[];
  postData?: HarPostData;
  headersSize: number;
  bodySize: number;
  comment?: string;
}

/** A response body. */
export interface HarContent {
  /** Length of the decoded body in bytes. */
  size: number;
  compression?: number;
  mimeType: string;
  text?: string;
  /** "base64" when `text` holds base64 of a binary body. */
  encoding?: string;
  comment?: string;
}

/** The response of a HAR entry; status 0 when there was none. */
export interface HarResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  cookies: HarCookie[];
  headers: HarNameValue[];
  content: HarContent;
  redirectURL: string;
  headersSize: number;
  bodySize: number;
  comment?: string;
  /** Chrome and mitmproxy put the failure here. */
  _error?: string | null;
}

/** Milliseconds; -1 where HAR allows it for "does not apply". */
export interface HarTimings {
  blocked?: number;
  dns?: number;
  connect?: number;
  send: number;
  wait: number;
  receive: number;
  ssl?: number;
  comment?: string;
}

/** Chrome's and mitmproxy's form of a WebSocket message (opcode 1 text, 2 binary as base64). */
export interface HarWebSocketMessage {
  type: "send" | "receive";
  /** Seconds since the epoch. */
  time: number;
  opcode: number;
  data: string;
}

/** One exchange; the `_` fields are probe's (and Chrome's, for WebSocket messages). */
export interface HarEntry {
  pageref?: string;
  startedDateTime: string;
  /** Total milliseconds: the sum of the non-negative timings. */
  time: number;
  request: HarRequest;
  response: HarResponse;
  cache: Record<string, unknown>;
  timings: HarTimings;
  serverIPAddress?: string;
  connection?: string;
  comment?: string;
  _id?: string;
  _proxy?: string;
  /** The capture's own timing, in exact epoch seconds. */
  _timing?: Timing;
  _error?: string;
  _incomplete?: boolean;
  _resourceType?: string;
  _webSocketMessages?: HarWebSocketMessage[];
}

/** The program that wrote the HAR (or the browser it came from). */
export interface HarCreator {
  name: string;
  version: string;
  comment?: string;
}

/** The `log` object: the whole content of a HAR. */
export interface HarLog {
  version: string;
  creator: HarCreator;
  browser?: HarCreator;
  pages?: unknown[];
  entries: HarEntry[];
  comment?: string;
}

/** A whole HAR document. */
export interface Har {
  log: HarLog;
}

/** The HTTP version written for both sides (the capture does not record it). */
export const HAR_HTTP_VERSION = "HTTP/1.1";

/**
 * Seconds since the epoch as ISO 8601 UTC with microseconds, e.g.
 * `2026-02-05T08:37:36.100000Z`; a time outside JavaScript's date range gives the epoch.
 */
export function isoMicros(seconds: number): string {
  let us = Math.round(seconds * 1e6);
  if (!Number.isFinite(us) || Math.abs(us) > 8.64e18) us = 0;
  const ms = Math.floor(us / 1000);
  const micro = us - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micro).padStart(3, "0")}Z`;
}

/** Rounds milliseconds to microseconds and keeps them ≥ 0. */
function ms(seconds: number): number {
  return Math.max(0, Math.round(seconds * 1e6) / 1e3);
}

/** A URI may hold these (RFC 3986) besides `%XX`; anything else is percent-encoded. */
const URI_CHAR = /[A-Za-z0-9\-._~:/?@!$&'()*+,;=]/;

/**
 * Percent-encodes what a URI may not contain (spaces, `[`, `]` outside the host, non-ASCII,
 * stray `%`, a second `#`), leaving valid URLs byte for byte as they are.
 */
export function harUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(.*)$/is.exec(url);
  const [authority, rest] = m ? [m[1], m[2]] : ["", url];
  let out = authority;
  let sawHash = false;
  const chars = [...rest];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === "%" && /^[0-9a-f]{2}$/i.test(chars.slice(i + 1, i + 3).join(""))) out += c;
    else if (c === "#" && !sawHash) {
      sawHash = true;
      out += c;
    } else if (URI_CHAR.test(c)) out += c;
    else out += encodeChar(c);
  }
  return out;
}

function encodeChar(c: string): string {
  try {
    return encodeURIComponent(c);
  } catch {
    return "%EF%BF%BD"; // a lone surrogate: U+FFFD
  }
}

function decodeQueryPart(s: string): string {
  const plus = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** The query parameters of a URL, decoded, in order. */
export function queryString(url: string): HarNameValue[] {
  const q = url.indexOf("?");
  if (q === -1) return [];
  const hash = url.indexOf("#", q);
  const query = url.slice(q + 1, hash === -1 ? url.length : hash);
  return query.split("&").filter((p) => p !== "").map((pair) => {
    const eq = pair.indexOf("=");
    return eq === -1
      ? { name: decodeQueryPart(pair), value: "" }
      : { name: decodeQueryPart(pair.slice(0, eq)), value: decodeQueryPart(pair.slice(eq + 1)) };
  });
}

function harHeaders(headers: Headers): HarNameValue[] {
  return Object.entries(headers).map(([name, value]) => ({ name, value }));
}

/** The body as HAR text: strings as they are, JSON values serialised; undefined when empty. */
function bodyText(message: RecordedMessage): string | undefined {
  const body = message.body;
  if (body === null || body === undefined) return undefined;
  return typeof body === "string" ? body : JSON.stringify(body);
}

/** Decoded size, or -1 when the wire size differs (a Content-Encoding was undone). */
function wireSize(message: RecordedMessage, decoded: number): number {
  const enc = getHeader(message.headers, "content-encoding").trim().toLowerCase();
  return enc === "" || enc === "identity" ? decoded : -1;
}

function harTimings(timing: Timing | undefined): { time: number; timings: HarTimings } {
  let wait = 0;
  let receive = 0;
  if (timing && typeof timing.start === "number") {
    const firstByte = typeof timing.first_byte === "number" ? timing.first_byte : null;
    const end = typeof timing.end === "number" ? timing.end : null;
    if (firstByte !== null) {
      wait = ms(firstByte - timing.start);
      if (end !== null) receive = ms(end - firstByte);
    } else if (end !== null) {
      // No response came: the whole time was spent waiting for one.
      wait = ms(end - timing.start);
    }
  }
  return {
    time: Math.round((wait + receive) * 1e3) / 1e3,
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait, receive },
  };
}

function harWebSocket(messages: WebSocketMessage[]): HarWebSocketMessage[] {
  return messages.map((m) => ({
    type: m.from === "client" ? "send" : "receive",
    time: m.t,
    opcode: m.base64 !== undefined ? 2 : 1,
    data: m.base64 ?? m.text ?? "",
  }));
}

/**
 * Converts one capture entry to a HAR 1.2 entry. Bodies: JSON is serialised as text, text
 * (SSE streams included) is kept, binary stays base64 (`content.encoding: "base64"`; for
 * `postData`, which has no encoding field, `_encoding: "base64"` and a comment). An exchange
 * without a response gets status 0 and `_error` / `_incomplete`. No redaction happens here.
 */
export function entryToHarEntry(entry: Entry): HarEntry {
  const req = entry.request;
  const start = typeof entry.timing?.start === "number" ? entry.timing.start : entry.timestamp;
  const { time, timings } = harTimings(entry.timing);

  const request: HarRequest = {
    method: req.method,
    url: harUrl(req.url),
    httpVersion: HAR_HTTP_VERSION,
    cookies: [],
    headers: harHeaders(req.headers),
    queryString: queryString(req.url),
    headersSize: -1,
    bodySize: 0,
  };
  const reqText = bodyText(req);
  if (reqText !== undefined) {
    request.bodySize = wireSize(req, bodySize(req));
    request.postData = { mimeType: getHeader(req.headers, "content-type"), text: reqText };
    if (req.body_encoding === "base64") {
      request.postData._encoding = "base64";
      request.postData.comment = "text is base64 of a binary body";
    }
  }

  const res = entry.response;
  let response: HarResponse;
  if (res) {
    const size = bodySize(res);
    const content: HarContent = { size, mimeType: getHeader(res.headers, "content-type") };
    const text = bodyText(res);
    if (text !== undefined) {
      content.text = text;
      if (res.body_encoding === "base64") content.encoding = "base64";
    }
    response = {
      status: res.status_code,
      statusText: STATUS_CODES[res.status_code] ?? "",
      httpVersion: HAR_HTTP_VERSION,
      cookies: [],
      headers: harHeaders(res.headers),
      content,
      redirectURL: "",
      headersSize: -1,
      bodySize: text === undefined ? 0 : wireSize(res, size),
    };
  } else {
    response = {
      status: 0,
      statusText: "",
      httpVersion: "",
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: "" },
      redirectURL: "",
      headersSize: -1,
      bodySize: -1,
    };
  }

  const har: HarEntry = {
    startedDateTime: isoMicros(start),
    time,
    request,
    response,
    cache: {},
    timings,
  };
  if (entry.id !== undefined) har._id = entry.id;
  if (entry.proxy !== undefined) har._proxy = entry.proxy;
  if (entry.timing && typeof entry.timing.start === "number") har._timing = { ...entry.timing };
  if (entry.error) har._error = entry.error;
  if (entry.incomplete) har._incomplete = true;
  if (entry.websocket) {
    har._resourceType = "websocket";
    har._webSocketMessages = harWebSocket(entry.websocket);
  }
  return har;
}

/** What the HAR's `log` says about who wrote it. */
export interface HarMeta {
  /** Defaults to probe and its version. */
  creator?: HarCreator;
  /** `log.comment`, e.g. where the entries came from. */
  comment?: string;
}

/** What JSON.stringify leaves raw that a terminal may act on, or that hides text. */
const RAW_IN_JSON_G = new RegExp(unsafeInText.source, "g");

/**
 * JSON text with DEL, C1 controls, bidi overrides and zero-width spaces (visible.ts) written
 * as `\uXXXX` (the same string to any JSON reader), so a HAR written to a terminal cannot
 * drive it; JSON.stringify already escapes C0 controls.
 */
function jsonWithoutRawControls(value: unknown): string {
  const json = JSON.stringify(value);
  return unsafeInText.test(json)
    ? json.replace(RAW_IN_JSON_G, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : json;
}

/** Flush the text buffer once it holds this many characters. */
const FLUSH_CHARS = 1 << 20;

/**
 * Writes a HAR document entry by entry: the header, each entry as one line of JSON as it
 * arrives, then the footer; only about 1 MiB of text is buffered. A path is created or
 * truncated and closed at the end; a stream is released but left open (stdout stays usable).
 *
 * @returns the number of entries written.
 */
export async function writeHar(
  entries: AsyncIterable<Entry>,
  out: WritableStream<Uint8Array> | string,
  meta: HarMeta = {},
): Promise<number> {
  let file: Deno.FsFile | undefined;
  let stream: WritableStream<Uint8Array>;
  if (typeof out === "string") {
    // 0600: reports and exports hold prompts and code, like the capture itself.
    file = await Deno.open(out, { write: true, create: true, truncate: true, mode: 0o600 });
    stream = file.writable;
  } else {
    stream = out;
  }
  const writer = stream.getWriter();
  const encoder = new TextEncoder();
  let parts: string[] = [];
  let size = 0;
  const flush = async () => {
    if (parts.length === 0) return;
    const bytes = encoder.encode(parts.join(""));
    parts = [];
    size = 0;
    await writer.write(bytes);
  };
  const write = async (text: string) => {
    parts.push(text);
    size += text.length;
    if (size >= FLUSH_CHARS) await flush();
  };

  let count = 0;
  let done = false;
  try {
    const creator = meta.creator ?? { name: "probe", version: VERSION };
    await write(
      `{\n  "log": {\n    "version": "1.2",\n    "creator": ${JSON.stringify(creator)},\n` +
        (meta.comment !== undefined ? `    "comment": ${JSON.stringify(meta.comment)},\n` : "") +
        `    "pages": [],\n    "entries": [`,
    );
    for await (const entry of entries) {
      await write(
        `${count === 0 ? "\n" : ",\n"}      ${jsonWithoutRawControls(entryToHarEntry(entry))}`,
      );
      count++;
    }
    await write(`${count === 0 ? "" : "\n    "}]\n  }\n}\n`);
    await flush();
    done = true;
  } finally {
    if (file) {
      if (done) await writer.close();
      else {
        writer.releaseLock();
        try {
          file.close();
        } catch {
          // Already closed.
        }
      }
    } else {
      writer.releaseLock();
    }
  }
  return count;
}
