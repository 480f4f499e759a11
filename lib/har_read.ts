/**
 * HAR 1.2 input: HAR files from browser devtools, Charles, mitmproxy (`--set hardump=FILE`) or
 * `probe export --har` read as capture entries, with the same contract as `readEntries`.
 *
 * Limit: a HAR is one JSON document, so the file is read and parsed whole (up to
 * {@link MAX_HAR_BYTES}); memory grows with the file, unlike JSONL. Entries are handed out one
 * by one and dropped from the parsed document as they go.
 */
import { InputError, inputFileError } from "./errors.ts";
import { readEntries } from "./jsonl.ts";
import type { MalformedLineHandler, ReadLimits } from "./jsonl.ts";
import type {
  Entry,
  Headers,
  NumberedEntry,
  RecordedMessage,
  RecordedResponse,
  Timing,
  WebSocketMessage,
} from "./types.ts";
import { getHeader } from "./headers.ts";
import { isRecord } from "./json.ts";

/**
 * Largest HAR read: the text must fit in one JavaScript string (V8: just under 512 Mi
 * characters). Reading takes several times the file size in memory (bytes, text, parsed JSON).
 */
export const MAX_HAR_BYTES = 500 * 1024 * 1024;

/** How much of a file `isHarFile` looks at. */
const SNIFF_BYTES = 4096;

/**
 * Whether a file looks like a HAR: after optional whitespace (and a BOM) it opens a JSON
 * object whose first key is `"log"`. False for anything unreadable, so the caller's reader
 * reports the real problem.
 */
export async function isHarFile(path: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    // Only a regular file is looked at first: what is read from a FIFO is gone for the reader.
    if (!(await Deno.stat(path)).isFile) return false;
    file = await Deno.open(path, { read: true });
  } catch {
    return false;
  }
  try {
    if (!(await file.stat()).isFile) return false;
    const buf = new Uint8Array(SNIFF_BYTES);
    let filled = 0;
    while (filled < buf.length) {
      const n = await file.read(buf.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    const head = new TextDecoder().decode(buf.subarray(0, filled)).replace(/^\uFEFF/, "");
    return /^\s*\{\s*"log"\s*:/.test(head);
  } catch {
    return false;
  } finally {
    file.close();
  }
}

/** Whether an input is read as HAR: its name ends in `.har`, or {@link isHarFile} says so. */
export async function isHarInput(path: string): Promise<boolean> {
  // Standard input is read once, as JSONL: it cannot be looked at first.
  if (path === "-") return false;
  return path.toLowerCase().endsWith(".har") || await isHarFile(path);
}

/** Streams the entries of a JSONL capture or a HAR file ({@link isHarInput}). */
export async function* readCaptureEntries(
  path: string,
  onMalformed: MalformedLineHandler,
  onBytes?: (count: number) => void,
  limits?: ReadLimits,
): AsyncGenerator<NumberedEntry> {
  if (await isHarInput(path)) {
    yield* readHarEntries(path, onMalformed);
  } else {
    yield* readEntries(path, onMalformed, onBytes, limits);
  }
}

/**
 * Streams the entries of a HAR file. An entry that cannot be converted goes to `onMalformed`
 * with its 1-based index as the line number and `entry N: REASON` as the reason; reading goes
 * on.
 *
 * @throws {InputError} when the file is missing, a directory, empty, too large, binary, not
 * JSON, not a HAR, or holds no entry that converts.
 */
export async function* readHarEntries(
  path: string,
  onMalformed: MalformedLineHandler,
): AsyncGenerator<NumberedEntry> {
  const log = await readHarLog(path);
  const list = log.entries as unknown[];
  if (list.length === 0) throw new InputError(path, "the HAR has no entries; nothing was captured");
  const opts = { trustSizes: isProbe(log.creator) };
  let good = 0;
  for (let i = 0; i < list.length; i++) {
    const converted = harEntryToEntry(list[i], opts);
    list[i] = undefined; // let the parsed entry go once converted
    if ("problem" in converted) {
      onMalformed(i + 1, `entry ${i + 1}: ${converted.problem}`);
      continue;
    }
    good++;
    yield { line: i + 1, entry: converted.entry };
  }
  if (good === 0) {
    throw new InputError(
      path,
      `no valid entries (${list.length} malformed entr${
        list.length === 1 ? "y" : "ies"
      }); is this a HAR file?`,
    );
  }
}

function isProbe(creator: unknown): boolean {
  return isRecord(creator) && creator.name === "probe";
}

async function readHarLog(path: string): Promise<Record<string, unknown>> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw inputFileError(path, err);
  }
  if (info.isDirectory) {
    throw new InputError(path, "is a directory; pass the HAR file (e.g. traffic.har)");
  }
  if (info.size > MAX_HAR_BYTES) {
    throw new InputError(
      path,
      `too large to read as HAR (${(info.size / 2 ** 20).toFixed(1)} MiB; HAR files are read ` +
        `whole and the limit is ${MAX_HAR_BYTES / 2 ** 20} MiB)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw inputFileError(path, err, "read");
  }
  if (bytes.length === 0) throw new InputError(path, "empty file; nothing was captured");
  const nul = bytes.subarray(0, 64 * 1024).indexOf(0);
  if (nul !== -1) {
    throw new InputError(path, `binary data (NUL byte at offset ${nul}); this is not a HAR file`);
  }
  const text = new TextDecoder().decode(bytes).replace(/^\uFEFF/, "");
  if (text.trim() === "") throw new InputError(path, "empty file (only whitespace)");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0];
    throw new InputError(path, `not a HAR file: invalid JSON (${msg})`);
  }
  if (!isRecord(doc) || !isRecord(doc.log)) {
    throw new InputError(path, 'not a HAR file: no "log" object at the top');
  }
  if (!Array.isArray(doc.log.entries)) {
    throw new InputError(path, 'not a HAR file: "log.entries" is not an array');
  }
  return doc.log;
}

// ---------------------------------------------------------------------------------------------
// One entry

/** How to read sizes: a HAR that probe wrote has exact decoded sizes; others are measured. */
export interface HarConvertOptions {
  /** Take `content.size` / `request.bodySize` as the decoded body size (probe's own HARs). */
  trustSizes?: boolean;
}

type Obj = Record<string, unknown>;

/** A failed conversion: `problem` says what is wrong, in a few words. */
export type HarConversion = { entry: Entry } | { problem: string };

/**
 * Converts one HAR entry to a capture entry: timestamp from `startedDateTime`, headers joined
 * (repeats with ", ", HTTP/2 pseudo-headers dropped), bodies from `postData.text` and
 * `content.text` (JSON parsed when the MIME type says JSON or the text starts like JSON;
 * base64 decoded when the MIME type is textual and the bytes are UTF-8, otherwise kept as
 * base64 with `body_encoding`), timing from `timings`, `_error` → `error`, status 0 → no
 * response.
 */
export function harEntryToEntry(value: unknown, opts: HarConvertOptions = {}): HarConversion {
  if (!isRecord(value)) return { problem: "not a JSON object" };
  if (typeof value.startedDateTime !== "string") return { problem: "missing startedDateTime" };
  const timestamp = parseIsoSeconds(value.startedDateTime);
  if (timestamp === null) {
    return { problem: `startedDateTime is not a date (${JSON.stringify(value.startedDateTime)})` };
  }
  const req = value.request;
  if (!isRecord(req)) return { problem: "missing request" };
  if (typeof req.method !== "string") return { problem: "request.method is not a string" };
  if (typeof req.url !== "string") return { problem: "request.url is not a string" };
  const reqHeaders = joinHeaders(req.headers);
  if (typeof reqHeaders === "string") return { problem: `request.headers ${reqHeaders}` };

  const postData = isRecord(req.postData) ? req.postData : undefined;
  const reqBody = decodeBody(
    postData ? postText(postData) : undefined,
    postData && typeof postData.mimeType === "string"
      ? postData.mimeType
      : getHeader(reqHeaders, "content-type"),
    postData?._encoding ?? postData?.encoding,
    opts.trustSizes && typeof req.bodySize === "number" && req.bodySize >= 0
      ? req.bodySize
      : undefined,
  );
  if (typeof reqBody === "string") return { problem: `request.postData ${reqBody}` };

  const entry: Entry = {
    timestamp,
    request: { method: req.method, url: req.url, headers: reqHeaders, ...reqBody },
    response: null,
  };

  const res = value.response;
  let error: string | undefined = typeof value._error === "string" && value._error !== ""
    ? value._error
    : undefined;
  if (isRecord(res)) {
    if (error === undefined && typeof res._error === "string" && res._error !== "") {
      error = res._error;
    }
    const status = res.status;
    if (status !== undefined && typeof status !== "number") {
      return { problem: "response.status is not a number" };
    }
    if (typeof status === "number" && status > 0) {
      const headers = joinHeaders(res.headers);
      if (typeof headers === "string") return { problem: `response.headers ${headers}` };
      const content = isRecord(res.content) ? res.content : {};
      const body = decodeBody(
        typeof content.text === "string" ? content.text : undefined,
        typeof content.mimeType === "string" && content.mimeType !== ""
          ? content.mimeType
          : getHeader(headers, "content-type"),
        content.encoding,
        opts.trustSizes && typeof content.size === "number" && content.size >= 0
          ? content.size
          : undefined,
      );
      if (typeof body === "string") return { problem: `response.content ${body}` };
      const response: RecordedResponse = { status_code: status, headers, ...body };
      entry.response = response;
    }
  }

  if (typeof value._id === "string") entry.id = value._id;
  if (typeof value._proxy === "string") entry.proxy = value._proxy;
  const timing = probeTiming(value._timing) ?? harTiming(value, timestamp, entry.response !== null);
  if (timing) entry.timing = timing;
  if (error !== undefined) entry.error = error;
  if (value._incomplete === true) entry.incomplete = true;
  const ws = webSocket(value._webSocketMessages);
  if (ws) entry.websocket = ws;
  return { entry };
}

function postText(postData: Obj): string | undefined {
  if (typeof postData.text === "string") return postData.text;
  if (!Array.isArray(postData.params) || postData.params.length === 0) return undefined;
  // A form given only as params: rebuild the urlencoded body.
  return postData.params
    .filter((p): p is Obj => isRecord(p) && typeof p.name === "string")
    .map((p) =>
      `${encodeURIComponent(p.name as string)}=${
        encodeURIComponent(typeof p.value === "string" ? p.value : "")
      }`
    )
    .join("&");
}

/** Joins a HAR header list into a map, or says why it cannot. */
function joinHeaders(list: unknown): Headers | string {
  const out: Headers = {};
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) return "is not an array";
  const spelling = new Map<string, string>();
  for (const h of list) {
    if (!isRecord(h) || typeof h.name !== "string") return "holds an item without a name";
    if (h.name.startsWith(":")) continue; // HTTP/2 pseudo-headers: not headers of the capture
    const value = typeof h.value === "string" ? h.value : String(h.value ?? "");
    const low = h.name.toLowerCase();
    const key = spelling.get(low);
    if (key === undefined) {
      spelling.set(low, h.name);
      out[h.name] = value;
    } else {
      out[key] = `${out[key]}, ${value}`;
    }
  }
  return out;
}

/** MIME types whose base64 bodies are decoded to text (when the bytes are UTF-8). */
const TEXTUAL =
  /^text\/|json|xml|javascript|ecmascript|event-stream|x-www-form-urlencoded|graphql|yaml|csv/i;

type BodyFields = Pick<RecordedMessage, "body" | "body_encoding" | "body_size">;

/** The recorded form of a HAR body, or why it cannot be read. Mirrors the capture addon. */
function decodeBody(
  text: string | undefined,
  mimeType: string,
  encoding: unknown,
  trustedSize: number | undefined,
): BodyFields | string {
  if (text === undefined || text === "") {
    return { body: null, body_size: trustedSize ?? 0 };
  }
  if (encoding === "base64") {
    let bytes: Uint8Array;
    try {
      bytes = Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    } catch {
      return "text is not valid base64";
    }
    let decoded: string | undefined;
    if (TEXTUAL.test(mimeType)) {
      try {
        decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        decoded = undefined;
      }
    }
    if (decoded === undefined) {
      return { body: text, body_encoding: "base64", body_size: trustedSize ?? bytes.length };
    }
    return textBody(decoded, mimeType, trustedSize ?? bytes.length);
  }
  return textBody(text, mimeType, trustedSize ?? new TextEncoder().encode(text).length);
}

function textBody(text: string, mimeType: string, size: number): BodyFields {
  const ct = mimeType.toLowerCase();
  let body: unknown = text;
  if (!ct.includes("event-stream")) {
    const first = text.trimStart()[0];
    if (ct.includes("json") || first === "{" || first === "[") {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
  }
  return { body, body_size: size };
}

/** probe's exact `_timing`, when present and well-formed. */
function probeTiming(value: unknown): Timing | undefined {
  if (!isRecord(value) || typeof value.start !== "number") return undefined;
  const t: Timing = { start: value.start };
  for (const k of ["first_byte", "end"] as const) {
    const v = value[k];
    if (typeof v === "number" || v === null) t[k] = v;
  }
  return t;
}

function nonNegative(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0;
}

/**
 * Timing from the standard fields: first byte after blocked + dns + connect + send + wait
 * (`ssl` is part of `connect` in HAR 1.2, so it counts only when `connect` is absent), end
 * after `time`. A HAR entry whose times are all zero says nothing: no timing then.
 */
function harTiming(value: Obj, start: number, hasResponse: boolean): Timing | undefined {
  const t = isRecord(value.timings) ? value.timings : {};
  const connect = nonNegative(t.connect);
  const before = nonNegative(t.blocked) + nonNegative(t.dns) + connect +
    (typeof t.connect === "number" && t.connect >= 0 ? 0 : nonNegative(t.ssl)) +
    nonNegative(t.send) + nonNegative(t.wait);
  const total = nonNegative(value.time) || before + nonNegative(t.receive);
  if (total === 0 && before === 0) return undefined;
  return {
    start,
    first_byte: hasResponse ? start + before / 1000 : null,
    end: start + total / 1000,
  };
}

function webSocket(value: unknown): WebSocketMessage[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: WebSocketMessage[] = [];
  for (const m of value) {
    if (!isRecord(m) || typeof m.data !== "string") continue;
    if (m.opcode !== 1 && m.opcode !== 2) continue; // control frames carry no message
    const msg: WebSocketMessage = {
      from: m.type === "send" ? "client" : "server",
      t: typeof m.time === "number" ? m.time : 0,
    };
    if (m.opcode === 1) msg.text = m.data;
    else msg.base64 = m.data;
    out.push(msg);
  }
  return out;
}

const ISO =
  /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/**
 * ISO 8601 date-time → seconds since the epoch, exact to the microsecond (JavaScript's Date
 * keeps milliseconds only). No zone means UTC. Null when it is no date.
 */
export function parseIsoSeconds(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (!m) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? null : ms / 1000;
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const whole = Date.UTC(+y, +mo - 1, +d, +h, +mi, s ? +s : 0);
  if (Number.isNaN(whole)) return null;
  let offset = 0;
  if (zone && zone.toUpperCase() !== "Z") {
    const digits = zone.replace(":", "");
    offset = (digits[0] === "-" ? -1 : 1) *
      (+digits.slice(1, 3) * 3600 + +(digits.slice(3) || 0) * 60);
  }
  const micro = frac ? Math.round(Number(`0.${frac}`) * 1e6) : 0;
  return ((whole / 1000 - offset) * 1e6 + micro) / 1e6;
}
