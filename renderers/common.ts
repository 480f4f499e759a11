/**
 * Helpers shared by the tier-2 renderers: safe access to untyped JSON, text shortening for
 * table cells and code blocks, compact JSON, JSON-Schema parameter summaries and the usage
 * line. Everything here is pure and never throws on odd input. Nothing here escapes Markdown:
 * the report writer does that.
 */

import type { Block, RenderedBody, SseEvent, Usage } from "../lib/types.ts";

/** A parsed JSON object (not an array, not null). */
export type JsonObject = Record<string, unknown>;

/** True for a plain JSON object: not null, not an array. */
export function isRecord(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value when it is a string, else `undefined`. */
export function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** The value when it is a finite number, else `undefined`. */
export function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** The value when it is an array, else an empty array. */
export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Length of `text` in Unicode code points (what a reader calls "characters"). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * Cuts `text` to at most `max` UTF-16 units and appends "…" when it was longer. Never splits
 * a surrogate pair.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return text.slice(0, end) + "…";
}

/**
 * Puts `text` on one line: each line break (with the blanks around it) becomes " ⏎ ", and tabs
 * and other control characters become spaces.
 */
export function oneLine(text: string): string {
  return text
    .replace(/[ \t]*(?:\r\n|\r|\n)[ \t]*/g, " ⏎ ")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ");
}

/** A short single-line excerpt for a table cell: trimmed, one line, at most `max` units. */
export function excerpt(text: string, max = 200): string {
  return truncate(oneLine(text.trim()), max);
}

/**
 * The first non-empty line of `text`, shortened to `max` units; "…" marks that something was
 * left out (the rest of the line or later lines).
 */
export function firstLine(text: string, max = 120): string {
  const trimmed = text.trim();
  const line = trimmed.split(/\r\n|\r|\n/, 1)[0].trim();
  const cut = truncate(line, max);
  return cut === line && line.length < trimmed.length ? `${line} …` : cut;
}

/**
 * Keys whose string values are opaque blobs (encrypted reasoning, signatures): they are
 * shown as a short prefix and a length, whatever their size.
 */
export const OPAQUE_KEYS: ReadonlySet<string> = new Set([
  "encrypted_content",
  "signature",
  "thoughtSignature",
  "thought_signature",
]);

/** An opaque blob as a short prefix plus its length, e.g. "gAAAAABo3x… (4812 chars)". */
export function opaque(text: string, prefix = 10): string {
  if (text.length <= prefix + 2) return text;
  return `${text.slice(0, prefix)}… (${text.length} chars)`;
}

/**
 * A copy of a JSON value with every string longer than `maxString` cut (with its full length
 * noted), opaque blobs ({@link OPAQUE_KEYS}, base64 `data:` URLs) reduced to a prefix, and
 * nesting deeper than 40 levels replaced by "[…]". Safe on any value.
 */
export function shortenStrings(value: unknown, maxString = 300): unknown {
  const walk = (v: unknown, key: string | undefined, depth: number): unknown => {
    if (typeof v === "string") {
      if ((key !== undefined && OPAQUE_KEYS.has(key)) || isBase64DataUrl(v)) {
        return opaque(v, key !== undefined && OPAQUE_KEYS.has(key) ? 10 : 40);
      }
      return v.length > maxString ? `${truncate(v, maxString)} (${v.length} chars)` : v;
    }
    if (typeof v !== "object" || v === null) return v;
    if (depth > 40) return "[…]";
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined, depth + 1));
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, k, depth + 1);
    return out;
  };
  return walk(value, undefined, 0);
}

function isBase64DataUrl(text: string): boolean {
  return text.length > 100 && /^data:[^,]{0,100};base64,/.test(text);
}

function stringify(value: unknown, indent?: number): string {
  try {
    const out = JSON.stringify(value, null, indent);
    return out === undefined ? String(value) : out;
  } catch {
    return String(value);
  }
}

/** One-line JSON of `value` with long strings shortened (see {@link shortenStrings}). */
export function compactJson(value: unknown, maxString = 300): string {
  return stringify(shortenStrings(value, maxString));
}

/** Indented JSON of `value` with long strings shortened (see {@link shortenStrings}). */
export function prettyJson(value: unknown, maxString = 2000): string {
  return stringify(shortenStrings(value, maxString), 2);
}

/**
 * A value for a label/value row: strings as they are, numbers and booleans as text, objects
 * and arrays as compact JSON.
 */
export function inlineValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  return compactJson(value, 100);
}

/**
 * Pretty-prints `text` when it parses as JSON (lang "json"), else returns it unchanged
 * (lang "text"). For tool-call arguments, which are JSON strings that may be cut off.
 */
export function jsonOrText(text: string): { text: string; lang: "json" | "text" } {
  if (text.trim() === "") return { text, lang: "text" };
  try {
    return { text: prettyJson(JSON.parse(text)), lang: "json" };
  } catch {
    return { text, lang: "text" };
  }
}

/** Default cap for big text bodies shown in a code block. */
export const MAX_BODY_TEXT = 20_000;

/**
 * Cuts a big text for a code block. `note` says what was left out ("showing the first 20000
 * of 51234 characters") and is undefined when nothing was cut.
 */
export function capText(
  text: string,
  max = MAX_BODY_TEXT,
): { text: string; note?: string } {
  if (text.length <= max) return { text };
  return {
    text: truncate(text, max),
    note: `Showing the first ${max} of ${text.length} characters.`,
  };
}

/**
 * Names of the parameters of a JSON Schema object, required ones marked with "*", e.g.
 * "path*, content*, mode". Empty when the schema has no `properties`.
 */
export function paramSummary(schema: unknown): string {
  if (!isRecord(schema) || !isRecord(schema.properties)) return "";
  const required = new Set(arr(schema.required).filter((r) => typeof r === "string"));
  return Object.keys(schema.properties)
    .map((name) => (required.has(name) ? `${name}*` : name))
    .join(", ");
}

/** Counts of `keys` in first-seen order. */
export function countInOrder(keys: Iterable<string>): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts];
}

/**
 * The usage line of the report: "245 input | 89 output | 334 total", followed by
 * " | N cached", " | N cache write" and " | N reasoning" only for counts above zero.
 */
export function formatUsage(usage: Usage): string {
  const parts = [`${usage.input} input`, `${usage.output} output`, `${usage.total} total`];
  if ((usage.cached ?? 0) > 0) parts.push(`${usage.cached} cached`);
  if ((usage.cacheWrite ?? 0) > 0) parts.push(`${usage.cacheWrite} cache write`);
  if ((usage.reasoning ?? 0) > 0) parts.push(`${usage.reasoning} reasoning`);
  return parts.join(" | ");
}

/** Parses JSON without throwing: `{ok:false}` when `text` is not JSON. */
export function tryParseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** The entries of `obj` whose keys are not in `shown`, or undefined when there are none. */
export function remainingKeys(
  obj: JsonObject,
  shown: ReadonlySet<string>,
): JsonObject | undefined {
  const rest: JsonObject = {};
  let any = false;
  for (const [k, v] of Object.entries(obj)) {
    if (shown.has(k)) continue;
    rest[k] = v;
    any = true;
  }
  return any ? rest : undefined;
}

/** The mask put in place of a secret value. */
export const SECRET_MASK = "[REDACTED]";

/**
 * Keys whose values are credentials, compared after lower-casing and dropping `_`/`-` (so
 * `access_token`, `accessToken` and `access-token` all match). `code` is not here: see
 * {@link maskSecretFields}.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  "apikey",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "clientsecret",
  "codeverifier",
  "password",
]);

/** Sibling keys that mark an object (or form body) as an OAuth request, where `code` is secret. */
const OAUTH_MARKERS: ReadonlySet<string> = new Set([
  "granttype",
  "redirecturi",
  "codeverifier",
  "clientid",
]);

const normKey = (key: string) => key.toLowerCase().replace(/[_-]/g, "");

/** True for a value already masked by the capture or by this module: `[REDACTED…]`. */
export function isMasked(value: unknown): boolean {
  return typeof value === "string" && /^\[REDACTED[^\]]*\]$/.test(value);
}

/**
 * A copy of a JSON value with credential values replaced by "[REDACTED]" at any depth: keys
 * api_key/apiKey, access_token, refresh_token, id_token, client_secret, code_verifier and
 * password (any case, `_`/`-` ignored). `code` is masked only in an object that looks like an
 * OAuth call (it also has grant_type, redirect_uri, code_verifier or client_id), so error
 * codes elsewhere stay visible. Strings and numbers are masked; null, booleans, objects and
 * arrays under a secret key are walked instead. Values already `[REDACTED…]` are kept (their
 * fingerprints survive). Nesting deeper than 40 levels becomes "[…]". Never throws.
 */
export function maskSecretFields(value: unknown): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v !== "object" || v === null) return v;
    if (depth > 40) return "[…]";
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const keys = Object.keys(v).map(normKey);
    const oauth = keys.some((k) => OAUTH_MARKERS.has(k));
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normKey(k);
      const secret = SECRET_KEYS.has(n) || (oauth && n === "code");
      out[k] = secret && (typeof x === "string" || typeof x === "number") && !isMasked(x)
        ? SECRET_MASK
        : walk(x, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

/**
 * True when `text` looks like an `application/x-www-form-urlencoded` body: `name=value` pairs
 * joined by `&`, with no spaces or line breaks.
 */
export function isFormEncoded(text: string): boolean {
  return /^[\w.~%+*-]+=[^&\s]*(?:&[\w.~%+*-]+=?[^&\s]*)*$/.test(text.trim());
}

/**
 * Masks credential values in a form-encoded body (`grant_type=…&code=…`), leaving every other
 * byte as it was: the keys of {@link maskSecretFields}, plus `code` always (form bodies sent by
 * agents are OAuth calls). Text that is not form-encoded is returned unchanged.
 */
export function maskFormSecrets(text: string): string {
  if (!isFormEncoded(text)) return text;
  return text.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq === -1) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, " "));
    } catch {
      // keep the raw name
    }
    const n = normKey(name);
    if (!SECRET_KEYS.has(n) && n !== "code") return pair;
    let value = pair.slice(eq + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, " "));
    } catch {
      // keep the raw value
    }
    return isMasked(value) ? pair : `${pair.slice(0, eq)}=${SECRET_MASK}`;
  }).join("&");
}

// ---------------------------------------------------------------------------------------------
// Block builders, error tables and SSE bookkeeping shared by the Chat Completions and Anthropic
// Messages renderers.

/** A heading block (level 1 relative to where the renderer's blocks are placed). */
export function heading(text: string): Block {
  return { kind: "heading", text };
}

/** A paragraph block. */
export function paragraph(text: string): Block {
  return { kind: "paragraph", text };
}

/** A verbatim code block with a language hint ("json", "text", ...). */
export function code(text: string, lang: string): Block {
  return { kind: "code", text, lang };
}

/** A label/value block. */
export function fields(rows: [string, string][]): Block {
  return { kind: "fields", rows };
}

/**
 * Blocks for a body that is not a JSON object: "(empty body)" for null/empty, a string as a
 * (capped) text block, any other JSON value as pretty JSON with a note saying what it is.
 */
export function nonObjectBody(body: unknown): Block[] {
  if (body === null || body === undefined || body === "") return [paragraph("(empty body)")];
  if (typeof body === "string") {
    const cut = capText(body);
    return cut.note ? [paragraph(cut.note), code(cut.text, "text")] : [code(cut.text, "text")];
  }
  const what = Array.isArray(body) ? "an array" : `a ${typeof body}`;
  return [paragraph(`The body is ${what}, not a JSON object.`), code(prettyJson(body), "json")];
}

/**
 * "effort: high, summary: auto" for an object; nested objects that hold only a `type` show as
 * that type. Anything else as {@link inlineValue}.
 */
export function objectSummary(value: unknown): string {
  if (!isRecord(value)) return inlineValue(value);
  return Object.entries(value)
    .map(([k, v]) => {
      if (isRecord(v) && Object.keys(v).length === 1 && typeof v.type === "string") {
        return `${k}: ${v.type}`;
      }
      return `${k}: ${inlineValue(v)}`;
    })
    .join(", ");
}

/** A string array as "a, b, c"; anything else as {@link inlineValue}. */
export function listValue(value: unknown): string {
  return Array.isArray(value) && value.every((v) => typeof v === "string")
    ? value.join(", ")
    : inlineValue(value);
}

/** One request setting shown as a label/value row: top-level key, label, formatter. */
export type FieldSpec = [key: string, label: string, format: (value: unknown) => string];

/** Longest settings value; longer ones are cut and listed again under "Other settings". */
export const MAX_FIELD = 200;

/**
 * Label/value rows for the `specs` keys present in `body`, in spec order, and the keys whose
 * value was longer than {@link MAX_FIELD} (cut here, so they belong in "Other settings" too).
 */
export function settingsRows(
  body: JsonObject,
  specs: readonly FieldSpec[],
): { rows: [string, string][]; cut: Set<string> } {
  const rows: [string, string][] = [];
  const cut = new Set<string>();
  for (const [key, label, format] of specs) {
    if (!(key in body)) continue;
    const value = format(body[key]);
    if (value.length > MAX_FIELD) cut.add(key);
    rows.push([label, excerpt(value, MAX_FIELD)]);
  }
  return { rows, cut };
}

/**
 * Size in bytes of the data a base64 string encodes (whitespace ignored, `=` padding
 * honoured). Not a validator: odd input just gives an estimate.
 */
export function base64Bytes(data: string): number {
  const clean = data.replace(/\s+/g, "");
  const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor(clean.length * 3 / 4) - padding);
}

/**
 * "Tool schemas" heading and one JSON block of the schemas keyed by tool name (repeated names
 * get " (2)", " (3)", ...); nothing when no tool has a schema.
 */
export function toolSchemasBlocks(schemas: [name: string, schema: unknown][]): Block[] {
  const out: JsonObject = {};
  let any = false;
  for (const [name, schema] of schemas) {
    if (schema === undefined) continue;
    let key = name;
    for (let i = 2; key in out; i++) key = `${name} (${i})`;
    out[key] = schema;
    any = true;
  }
  return any ? [heading("Tool schemas"), code(prettyJson(out), "json")] : [];
}

/** An error from an error event, a failed response, or an error body. */
export interface ErrorInfo {
  /** Where it came from: "error event", "API error", ... */
  source: string;
  type?: string;
  code?: string;
  message?: string;
  param?: string;
}

/**
 * Reads `{type, code, message, param}` from an error object (a string is the message); `type`
 * is skipped when `skipType` is set (for an event whose own `type` is "error").
 */
export function errorInfo(source: string, err: unknown, skipType = false): ErrorInfo {
  if (typeof err === "string") return { source, message: err };
  if (!isRecord(err)) return { source, message: err === undefined ? undefined : inlineValue(err) };
  const text = (v: unknown) => (v === undefined || v === null ? undefined : inlineValue(v));
  return {
    source,
    type: skipType ? undefined : text(err.type),
    code: text(err.code),
    message: text(err.message),
    param: text(err.param),
  };
}

/** One problem line: "source: code-or-type: message". */
export function errorLine(e: ErrorInfo): string {
  const what = [e.code ?? e.type, e.message].filter((x) => x !== undefined).join(": ");
  return excerpt(`${e.source}: ${what || "(no details)"}`, 200);
}

/** Optional columns of the errors table. */
export type ErrorColumn = "type" | "code" | "message" | "param";

const ERROR_LABELS: Record<ErrorColumn, string> = {
  type: "Type",
  code: "Code",
  message: "Message",
  param: "Param",
};

/** "Errors" heading and a table with Source plus `columns`; nothing when there are no errors. */
export function errorsBlocks(
  errors: ErrorInfo[],
  columns: readonly ErrorColumn[] = ["type", "code", "message", "param"],
): Block[] {
  if (errors.length === 0) return [];
  const cell = (v: string | undefined) => (v === undefined ? "" : excerpt(v, 500));
  return [
    heading("Errors"),
    {
      kind: "table",
      header: ["Source", ...columns.map((c) => ERROR_LABELS[c])],
      rows: errors.map((e) => [e.source, ...columns.map((c) => cell(e[c]))]),
    },
  ];
}

/**
 * An API error body: "API error" heading, HTTP status and the error's fields (plus `extra`
 * rows), the whole body as JSON when it holds keys not shown (`shown` top-level keys and the
 * error object's type/code/message/param), and the problem "API error STATUS: message".
 */
export function apiErrorBody(
  body: JsonObject,
  e: ErrorInfo,
  status: number,
  extra: [string, string][] = [],
  shown: ReadonlySet<string> = new Set(["error"]),
): RenderedBody {
  const rows: [string, string][] = [["HTTP status", String(status)]];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined) rows.push([label, value]);
  };
  add("Type", e.type);
  add("Code", e.code);
  add("Message", e.message);
  add("Param", e.param);
  rows.push(...extra);
  const blocks: Block[] = [heading("API error"), fields(rows)];
  const errKeys = new Set(["type", "code", "message", "param"]);
  const more = remainingKeys(body, shown) ||
    (isRecord(body.error) ? remainingKeys(body.error, errKeys) : undefined);
  if (more) blocks.push(code(prettyJson(body), "json"));
  const what = e.message ?? e.code ?? e.type ?? "(no message)";
  return { blocks, problems: [excerpt(`API error ${status}: ${what}`, 200)] };
}

/** One SSE event with its data parsed once. */
export interface ParsedSse {
  /** The data's `type` when it has one, else the SSE event type. */
  type: string;
  /** The data as a JSON object, or undefined when it is not one. */
  data?: JsonObject;
  raw: string;
  complete: boolean;
}

/** Parses an event's data as JSON without throwing (see {@link ParsedSse}). */
export function parseSseEvent(ev: SseEvent): ParsedSse {
  const raw = typeof ev.data === "string" ? ev.data : String(ev.data);
  const parsed = tryParseJson(raw);
  const data = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
  const type = str(data?.type) ?? (str(ev.type) || "message");
  return { type, data, raw, complete: ev.complete !== false };
}

/** "TYPE" or "TYPE, cut off mid-event" for the last event, "none" when there is none. */
export function lastEventText(last: { complete: boolean } | undefined, kind: string): string {
  if (!last) return "none";
  return `${kind}${last.complete ? "" : ", cut off mid-event"}`;
}

/** "SSE events (N)" heading and a count table of `kinds` in first-seen order. */
export function sseEventsBlocks(kinds: string[]): Block[] {
  return [
    heading(`SSE events (${kinds.length})`),
    {
      kind: "table",
      header: ["Event type", "Count"],
      rows: countInOrder(kinds).map(([t, n]) => [t, String(n)]),
    },
  ];
}

/**
 * Raw samples the reader should see after the event table: the first JSON event of each
 * label `unknownLabel` returns (undefined = a known event), the complete events whose data is
 * not a JSON object (except `sentinel` ones, e.g. "[DONE]"; a problem is pushed for them),
 * and the last event when it was cut off.
 */
export function rawEventBlocks(
  events: ParsedSse[],
  unknownLabel: (e: ParsedSse) => string | undefined,
  problems: string[],
  sentinel: (e: ParsedSse) => boolean = () => false,
): Block[] {
  const blocks: Block[] = [];
  const unknown = new Map<string, ParsedSse>();
  for (const e of events) {
    if (!e.data) continue;
    const label = unknownLabel(e);
    if (label !== undefined && !unknown.has(label)) unknown.set(label, e);
  }
  if (unknown.size > 0) {
    blocks.push(heading("Other events (first of each type)"));
    for (const [label, e] of unknown) {
      blocks.push(fields([["Event", label]]), code(prettyJson(e.data, 500), "json"));
    }
  }
  const nonJson = events.filter((e) => !e.data && e.complete && !sentinel(e));
  if (nonJson.length > 0) {
    problems.push(`${nonJson.length} SSE event(s) with data that is not a JSON object`);
    const text = nonJson.map((e) => `event: ${e.type}\ndata: ${truncate(e.raw, 2000)}`);
    blocks.push(heading(`Events without JSON data (${nonJson.length})`));
    blocks.push(code(capText(text.join("\n\n")).text, "text"));
  }
  const last = events[events.length - 1];
  if (last && !last.complete) {
    blocks.push(heading("Last event (cut off)"), code(capText(last.raw, 4000).text, "text"));
  }
  return blocks;
}

/**
 * Inserts the "stream was cut off" paragraph after the leading fields blocks (where the
 * summary ends).
 */
export function insertCutOffNote(blocks: Block[], reason: string, detail: string): void {
  const at = blocks.findIndex((b) => b.kind !== "fields");
  blocks.splice(
    at < 0 ? blocks.length : at,
    0,
    paragraph(`The stream was cut off (${reason}). ${detail}`),
  );
}
