/**
 * Helpers shared by the tier-2 renderers: safe access to untyped JSON, text shortening for
 * table cells and code blocks, compact JSON, JSON-Schema parameter summaries and the usage
 * line; then the pieces every renderer builds the same way: block builders, request settings,
 * system-prompt and tool sections, request parts, error tables, SSE event bookkeeping and
 * cut-off notes. Everything here is pure and never throws on odd input. Nothing here escapes
 * Markdown: the report writer does that.
 */

import { fullRequestBlocks } from "../lib/conversation.ts";
import { SECRET_MASK, secretFieldTest } from "../lib/redact.ts";
import { eventJson } from "../lib/sse.ts";
import type {
  Block,
  RenderedBody,
  RequestParts,
  ResponseView,
  SseEvent,
  Usage,
} from "../lib/types.ts";

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

/**
 * Length of `text` in Unicode code points (what a reader calls "characters"). Text without
 * high surrogates (nearly all of it) is answered by one native scan, without iterating.
 */
export function charCount(text: string): number {
  const first = text.search(/[\uD800-\uDBFF]/);
  if (first === -1) return text.length;
  let n = text.length;
  for (let i = first; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) continue;
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) {
      n--; // a pair is one code point
      i++;
    }
  }
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
 * Puts `text` on one line: each line break (with the spaces and tabs around it) becomes " ⏎ ",
 * and control characters other than tab become spaces.
 */
export function oneLine(text: string): string {
  // The usual value has no line break or control character: nothing to do.
  // deno-lint-ignore no-control-regex
  if (!/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text)) return text;
  return text
    .replace(/[ \t]*(?:\r\n|\r|\n)[ \t]*/g, " ⏎ ")
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ");
}

/** Units read past `max` before folding line breaks (folding can shrink blank runs). */
const PREFIX_SLACK = 64;

/** Space, tab, CR, LF: the only characters {@link oneLine}'s line-break fold can consume. */
function isFoldable(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * `oneLine(text)` when that is at most `max` units long; otherwise a prefix of it that is
 * longer than `max`, so `truncate(…, max)` gives the same result. Works on a prefix of `text`
 * that ends after a character the fold cannot consume (no fold is cut in two), so a huge text
 * costs no more than a short one.
 */
function oneLinePrefix(text: string, max: number): string {
  let end = Math.max(0, max) + PREFIX_SLACK;
  for (;;) {
    while (end < text.length && isFoldable(text.charCodeAt(end - 1))) end++;
    if (end >= text.length) return oneLine(text);
    const line = oneLine(text.slice(0, end));
    if (line.length > max) return line;
    end *= 2; // blank runs folded the prefix down to `max` or less: read more
  }
}

/** A short single-line excerpt for a table cell: trimmed, one line, at most `max` units. */
export function excerpt(text: string, max = 200): string {
  return truncate(oneLinePrefix(text.trim(), max), max);
}

/**
 * The first non-empty line of `text`, shortened to `max` units; "…" marks that something was
 * left out (the rest of the line or later lines).
 */
export function firstLine(text: string, max = 120): string {
  const trimmed = text.trim();
  const at = trimmed.search(/[\r\n]/);
  const line = (at === -1 ? trimmed : trimmed.slice(0, at)).trim();
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
 * A copy of a JSON value with credential fields masked (see {@link maskSecretFields}), every
 * string longer than `maxString` cut (with its full length
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
    const secret = secretFieldTest(v);
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = secret(k, x) ? SECRET_MASK : walk(x, k, depth + 1);
    }
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
 * " | N cached", " | N cache write" (" (M 1h)"), " | N tool prompt" and " | N reasoning" only
 * for counts above zero, server-tool requests ("web_search 2 requests") and each billed
 * sub-call ("+ compaction: ...").
 */
export function formatUsage(usage: Usage): string {
  const parts = [`${usage.input} input`, `${usage.output} output`, `${usage.total} total`];
  if ((usage.cached ?? 0) > 0) parts.push(`${usage.cached} cached`);
  if ((usage.cacheWrite ?? 0) > 0) {
    const h1 = usage.cacheWrite1h ?? 0;
    parts.push(`${usage.cacheWrite} cache write${h1 > 0 ? ` (${h1} 1h)` : ""}`);
  }
  if ((usage.toolPrompt ?? 0) > 0) parts.push(`${usage.toolPrompt} tool prompt`);
  if ((usage.reasoning ?? 0) > 0) parts.push(`${usage.reasoning} reasoning`);
  for (const [tool, n] of Object.entries(usage.serverTools ?? {})) {
    if (n > 0) parts.push(`${tool.replace(/_requests$/, "")} ${n} request${n === 1 ? "" : "s"}`);
  }
  let text = parts.join(" | ");
  for (const sub of usage.subCalls ?? []) {
    const who = sub.model ? ` (${sub.model})` : "";
    text += `; + ${sub.kind}${who}: ${formatUsage(sub.usage)}`;
  }
  return text;
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
  // A key walk that allocates nothing when every key is shown: this runs for every message of
  // every resent history (Object.entries was half the cost of reading an Anthropic request).
  let rest: JsonObject | undefined;
  for (const k in obj) {
    if (!shown.has(k)) (rest ??= {})[k] = obj[k];
  }
  return rest;
}

// ---------------------------------------------------------------------------------------------
// Block builders

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
 * A section whose value has the wrong type, shown raw: `title` heading, `note` (e.g. "tools is
 * not an array:") and the value as pretty JSON.
 */
export function rawSection(title: string, note: string, value: unknown): Block[] {
  return [heading(title), paragraph(note), code(prettyJson(value), "json")];
}

/** A long text in a code block, capped at `max` units, after a note when it was cut. */
export function cappedTextBlocks(text: string, max: number): Block[] {
  const cut = capText(text, max);
  return cut.note ? [paragraph(cut.note), code(cut.text, "text")] : [code(cut.text, "text")];
}

/** A titled text (a system prompt): heading, its length in characters, and the capped text. */
export function textSection(title: string, text: string, max: number): Block[] {
  return [
    heading(title),
    fields([["Length", `${charCount(text)} characters`]]),
    ...cappedTextBlocks(text, max),
  ];
}

// ---------------------------------------------------------------------------------------------
// Request settings and sections

const NO_KEYS: ReadonlySet<string> = new Set();

/**
 * "effort: high, summary: auto" for an object, without the `skip` keys; nested objects that
 * hold only a `type` show as that type unless `collapseTypes` is false. Anything else as
 * {@link inlineValue}.
 */
export function objectSummary(
  value: unknown,
  skip: ReadonlySet<string> = NO_KEYS,
  collapseTypes = true,
): string {
  if (!isRecord(value)) return inlineValue(value);
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (skip.has(k)) continue;
    const typeOnly = collapseTypes && isRecord(v) && Object.keys(v).length === 1 &&
      typeof v.type === "string";
    out.push(`${k}: ${typeOnly ? v.type : inlineValue(v)}`);
  }
  return out.join(", ");
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
    if (key in body) addSetting(rows, cut, key, label, format(body[key]));
  }
  return { rows, cut };
}

/** Adds one settings row, cut to {@link MAX_FIELD} (then `key` is noted in `cut`). */
export function addSetting(
  rows: [string, string][],
  cut: Set<string>,
  key: string,
  label: string,
  value: string,
): void {
  if (value.length > MAX_FIELD) cut.add(key);
  rows.push([label, excerpt(value, MAX_FIELD)]);
}

/** "Other settings" heading and the settings as pretty JSON; nothing when there are none. */
export function otherSettings(rest: JsonObject | undefined): Block[] {
  if (!rest || Object.keys(rest).length === 0) return [];
  return [heading("Other settings"), code(prettyJson(rest, 300), "json")];
}

/**
 * Request parts to fill in: the settings rows of `specs` and the model. `cut` holds the keys
 * whose row had to be cut (see {@link settingsRows}).
 */
export function settingsParts(
  body: JsonObject,
  specs: readonly FieldSpec[],
): { parts: RequestParts; cut: Set<string> } {
  const { rows, cut } = settingsRows(body, specs);
  const parts: RequestParts = { fields: rows, extra: [] };
  const model = str(body.model);
  if (model) parts.model = model;
  return { parts, cut };
}

/**
 * "Other settings": the keys of `body` that neither have a section of their own (`sections`)
 * nor a settings row of `specs` that showed them whole (not in `cut`, and `shownWhole` agrees).
 */
export function otherSettingsFor(
  body: JsonObject,
  sections: readonly string[],
  specs: readonly FieldSpec[],
  cut: ReadonlySet<string>,
  shownWhole: (key: string) => boolean = () => true,
): Block[] {
  const shown = new Set(sections);
  for (const [key] of specs) if (!cut.has(key) && shownWhole(key)) shown.add(key);
  return otherSettings(remainingKeys(body, shown));
}

/**
 * Size in bytes of the data a base64 string encodes (whitespace ignored, `=` padding
 * honoured). Not a validator: odd input just gives an estimate. Data without whitespace (the
 * usual case, often megabytes of image) is measured without copying it.
 */
export function base64Bytes(data: string): number {
  const clean = /\s/.test(data) ? data.replace(/\s+/g, "") : data;
  const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor(clean.length * 3 / 4) - padding);
}

/**
 * The reference of an image given by URL (`image_url` as a string or `{url}`): the URL, with a
 * base64 `data:` URL reduced to its type and length; "" when there is no URL.
 */
export function imageUrlText(imageUrl: unknown): string {
  const url = str(imageUrl) ?? (isRecord(imageUrl) ? str(imageUrl.url) : "");
  if (url && url.startsWith("data:")) {
    return `${url.slice(0, url.indexOf(",") + 1 || 40)}… (${url.length} chars)`;
  }
  return url || "";
}

/**
 * Text of a message's content: a string as it is, an array of parts as their non-empty
 * `partText`s joined by `separator`, null/absent as "", anything else as compact JSON.
 */
export function joinedText(
  content: unknown,
  partText: (part: unknown) => string,
  separator = " ",
): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const texts: string[] = [];
    for (const part of content) {
      const text = partText(part);
      if (text !== "") texts.push(text);
    }
    return texts.join(separator);
  }
  if (content === undefined || content === null) return "";
  return compactJson(content, 80);
}

/**
 * A copy of `obj` without `cache_control` (the same object when it has none). Agents move
 * cache breakpoints to the newest messages on every request: identities ignore them.
 */
export function withoutCacheControl(obj: JsonObject): JsonObject {
  if (!("cache_control" in obj)) return obj;
  const { cache_control: _cc, ...rest } = obj;
  return rest;
}

// ---------------------------------------------------------------------------------------------
// Tools

/** The Parameters cell of a JSON Schema: its parameter names, "(none)", or the odd value. */
export function schemaParams(schema: unknown): string {
  return paramSummary(schema) ||
    (isRecord(schema) ? "(none)" : excerpt(compactJson(schema), 120));
}

/** The keys of `obj` other than `shown`, as a short compact-JSON cell; "" when none. */
export function otherKeysCell(obj: JsonObject, shown: ReadonlySet<string>): string {
  const rest = remainingKeys(obj, shown);
  return rest ? excerpt(compactJson(rest, 60), 120) : "";
}

/** The tools-table row of a tool definition that is not an object. */
export function oddToolRow(tool: unknown, kind: string = typeof tool): string[] {
  return ["?", kind, "", excerpt(compactJson(tool), 120)];
}

/**
 * The tools section: "Tools (N)" heading (N = rows), the table (Name, `kind`, Description,
 * Parameters) of each tool's `rowsOf`, then the schemas of {@link toolSchemasBlocks} from
 * each object tool's `schemasOf`. Nothing for absent tools; raw when they are not an array.
 */
export function toolsSection(
  tools: unknown,
  rowsOf: (tool: unknown) => string[][],
  schemasOf: (tool: JsonObject) => [name: string, schema: unknown][],
  kind = "Type",
): Block[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) return rawSection("Tools", "tools is not an array:", tools);
  const rows = tools.flatMap(rowsOf);
  return [
    heading(`Tools (${rows.length})`),
    { kind: "table", header: ["Name", kind, "Description", "Parameters"], rows },
    ...toolSchemasBlocks(tools.flatMap((t) => (isRecord(t) ? schemasOf(t) : []))),
  ];
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

/**
 * Puts the request's `tools` into `parts`: an array as the tools part (one fingerprint per
 * tool, named by `nameOf`; the rendering stays lazy), anything else raw in `extra`.
 */
export function addToolsPart(
  parts: RequestParts,
  tools: unknown,
  nameOf: (tool: unknown) => string,
  blocks: (tools: unknown) => Block[],
): void {
  if (!Array.isArray(tools)) {
    parts.extra.push(...blocks(tools));
    return;
  }
  const fingerprints: Record<string, unknown> = {};
  for (const tool of tools) fingerprints[nameOf(tool)] = tool;
  parts.tools = { title: "Tools", fingerprints, blocks: () => blocks(tools) };
}

/** How a request's messages become conversation items: see {@link unitItems}. */
export interface UnitSpec {
  title: string;
  header: string[];
  messages: unknown[];
  /** Index of the first message that is an item (earlier ones are shown elsewhere). */
  first?: number;
  /** The identity of each unit (part, block, or the whole message) of a message. */
  keys(message: unknown): unknown[];
  /** The table row of unit `unit` of the message at `index`. */
  row(message: unknown, index: number, unit: number): string[];
  /** The full text of a unit whose row shows only an excerpt. */
  full(message: unknown, unit: number): string | undefined;
}

/**
 * Conversation items with one row per unit of a message (a part or content block, or the
 * message itself): the keys are computed now, rows and full texts only when asked for.
 */
export function unitItems(spec: UnitSpec): NonNullable<RequestParts["items"]> {
  const { messages } = spec;
  const keys: unknown[] = [];
  const at: number[] = [];
  const unit: number[] = [];
  for (let i = spec.first ?? 0; i < messages.length; i++) {
    const own = spec.keys(messages[i]);
    for (let j = 0; j < own.length; j++) {
      keys.push(own[j]);
      at.push(i);
      unit.push(j);
    }
  }
  return {
    title: spec.title,
    header: spec.header,
    keys,
    row: (k) => spec.row(messages[at[k]], at[k], unit[k]),
    full: (k) => spec.full(messages[at[k]], unit[k]),
  };
}

/** `renderRequest` from `requestParts`: the complete view, or the body raw when not a request. */
export function renderFromParts(parts: RequestParts | undefined, body: unknown): RenderedBody {
  if (!parts) return { blocks: nonObjectBody(body) };
  return { blocks: fullRequestBlocks(parts), ...(parts.model ? { model: parts.model } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Responses

/** Where an OpenAI-style `usage` object keeps its counts (see {@link tokenUsage}). */
export interface UsageKeys {
  input: string;
  output: string;
  inputDetails: string;
  outputDetails: string;
  /** The cache-write count in the input details, for APIs that report one. */
  cacheWrite?: string;
}

/**
 * Normalised usage of an OpenAI-style `usage` object (input counts include cached ones,
 * output counts reasoning ones; `total_tokens`, else their sum). Undefined without counts.
 */
export function tokenUsage(raw: unknown, keys: UsageKeys): Usage | undefined {
  if (!isRecord(raw)) return undefined;
  const input = num(raw[keys.input]);
  const output = num(raw[keys.output]);
  if (input === undefined && output === undefined) return undefined;
  const usage: Usage = {
    input: input ?? 0,
    output: output ?? 0,
    total: num(raw.total_tokens) ?? (input ?? 0) + (output ?? 0),
  };
  const inDetails = isRecord(raw[keys.inputDetails]) ? raw[keys.inputDetails] as JsonObject : {};
  const outDetails = isRecord(raw[keys.outputDetails]) ? raw[keys.outputDetails] as JsonObject : {};
  const cached = num(inDetails.cached_tokens);
  const cacheWrite = keys.cacheWrite === undefined ? undefined : num(inDetails[keys.cacheWrite]);
  const reasoning = num(outDetails.reasoning_tokens);
  if (cached !== undefined && cached > 0) usage.cached = cached;
  if (cacheWrite !== undefined && cacheWrite > 0) usage.cacheWrite = cacheWrite;
  if (reasoning !== undefined && reasoning > 0) usage.reasoning = reasoning;
  return usage;
}

/** What {@link finalBody} puts together. */
export interface FinalParts {
  /** Summary rows (id, model, status, ...); the usage row is added after them. */
  rows: [string, string][];
  usage: Usage | undefined;
  /** Also listed as problems, after those already in `problems`. */
  errors: ErrorInfo[];
  problems: string[];
  /** The answer's blocks (text, reasoning, tool calls, ...), after the errors. */
  content: Block[];
  model: string | undefined;
  /** Columns of the errors table (default: all but Status). */
  columns?: readonly ErrorColumn[];
}

/**
 * A final (or last known) response: summary fields ending with the usage, the errors table,
 * then the content; with the usage and the answering model.
 */
export function finalBody(f: FinalParts): RenderedBody {
  const { rows, usage, model } = f;
  if (usage) rows.push(["Usage", formatUsage(usage)]);
  for (const e of f.errors) f.problems.push(errorLine(e));
  const blocks: Block[] = rows.length > 0 ? [fields(rows)] : [];
  blocks.push(...errorsBlocks(f.errors, f.columns), ...f.content);
  const out: RenderedBody = { blocks };
  if (usage) out.usage = usage;
  if (model) out.model = model;
  return out;
}

/** Said of output assembled from a stream's deltas that never completed. */
export const PARTIAL_NOTE = "Cut off: assembled from delta events (never completed).";

/**
 * A tool call: its label/value `rows`, then its payload (arguments, input, action) as pretty
 * JSON, or as text when it is a string that is not JSON; nothing for an absent payload.
 */
export function callBlocks(rows: [string, string][], payload: unknown): Block[] {
  if (typeof payload === "string") {
    const shown = jsonOrText(payload);
    return [fields(rows), code(shown.text, shown.lang)];
  }
  return payload === undefined ? [fields(rows)] : [fields(rows), code(prettyJson(payload), "json")];
}

/**
 * The usual response dispatch: an SSE stream to `stream`, a JSON object to `json`, anything
 * else shown by {@link nonObjectBody}.
 */
export function renderByShape(
  view: ResponseView,
  stream: (events: SseEvent[]) => RenderedBody,
  json: (body: JsonObject, status: number) => RenderedBody,
): RenderedBody {
  if (Array.isArray(view.events)) return stream(view.events);
  if (isRecord(view.body)) return json(view.body, view.status);
  return { blocks: nonObjectBody(view.body) };
}

// ---------------------------------------------------------------------------------------------
// Errors

/** An error from an error event, a failed response, or an error body. */
export interface ErrorInfo {
  /** Where it came from: "error event", "API error", ... */
  source: string;
  type?: string;
  code?: string;
  /** Google's status name, e.g. "RESOURCE_EXHAUSTED". */
  status?: string;
  message?: string;
  param?: string;
  /** Other keys of the error object, when the reader keeps them. */
  extra?: JsonObject;
}

/** Text of an error field: undefined for absent or null. */
const errorText = (v: unknown) => (v === undefined || v === null ? undefined : inlineValue(v));

/**
 * Reads `{type, code, message, param}` from an error object (a string is the message); `type`
 * is skipped when `skipType` is set (for an event whose own `type` is "error").
 */
export function errorInfo(source: string, err: unknown, skipType = false): ErrorInfo {
  if (typeof err === "string") return { source, message: err };
  if (!isRecord(err)) return { source, message: err === undefined ? undefined : inlineValue(err) };
  return {
    source,
    type: skipType ? undefined : errorText(err.type),
    code: errorText(err.code),
    message: errorText(err.message),
    param: errorText(err.param),
  };
}

/** Reads Google's `{code, status, message}` error object; other keys go to `extra`. */
export function googleErrorInfo(source: string, err: unknown): ErrorInfo {
  if (typeof err === "string") return { source, message: err };
  if (!isRecord(err)) return { source, message: inlineValue(err) };
  const info: ErrorInfo = {
    source,
    code: errorText(err.code),
    status: errorText(err.status),
    message: errorText(err.message),
  };
  const extra = remainingKeys(err, new Set(["code", "status", "message"]));
  if (extra) info.extra = extra;
  return info;
}

/** One problem line: "source: code-or-type: message". */
export function errorLine(e: ErrorInfo): string {
  return problemLine(e.source, [e.code ?? e.type, e.message]);
}

/** One problem line for a Google error: "source: 429 RESOURCE_EXHAUSTED: message". */
export function googleErrorLine(e: ErrorInfo): string {
  const head = [e.code, e.status].filter((x) => x !== undefined).join(" ");
  return problemLine(e.source, [head || undefined, e.message]);
}

function problemLine(source: string, pieces: (string | undefined)[]): string {
  const what = pieces.filter((x) => x !== undefined).join(": ");
  return excerpt(`${source}: ${what || "(no details)"}`, 200);
}

/** Optional columns of the errors table. */
export type ErrorColumn = "type" | "code" | "status" | "message" | "param";

const ERROR_LABELS: Record<ErrorColumn, string> = {
  type: "Type",
  code: "Code",
  status: "Status",
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

// ---------------------------------------------------------------------------------------------
// SSE events

/**
 * The JSON value of an event's data, parsed at most once per event and shared with the
 * statistics ({@link eventJson}); undefined when the data is not JSON or not a string.
 */
export function sseJson(ev: SseEvent): unknown {
  return typeof ev?.data === "string" ? eventJson(ev) : undefined;
}

/** An event's data as text (odd recorded values made text). */
export function sseRaw(ev: SseEvent): string {
  return typeof ev?.data === "string" ? ev.data : String(ev?.data);
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

/** An event with its data read as a JSON object (see {@link ParsedSse}). */
export function parseSseEvent(ev: SseEvent): ParsedSse {
  const value = sseJson(ev);
  const data = isRecord(value) ? value : undefined;
  const type = str(data?.type) ?? (str(ev.type) || "message");
  const raw = sseRaw(ev);
  return { type, data, raw, complete: endedWhole(ev, data, raw) };
}

/**
 * Whether an event arrived whole. A last event without the blank line that dispatches it is
 * still whole when its data is a complete JSON object or the `[DONE]` sentinel: servers and
 * proxies often end a stream right after the last event's line. Only a real cut (data that
 * stops mid-value) is cut off.
 */
export function endedWhole(ev: SseEvent, data: unknown, raw: string): boolean {
  return ev.complete !== false || isRecord(data) || raw.trim() === "[DONE]";
}

/** "TYPE" or "TYPE, cut off mid-event" for the last event, "none" when there is none. */
export function lastEventText(last: { complete: boolean } | undefined, kind: string): string {
  if (!last) return "none";
  return `${kind}${last.complete ? "" : ", cut off mid-event"}`;
}

/**
 * The truncation problem of a stream that ends with an event of `terminal` types (named
 * `endName` in the problem): no such event, or a last event cut off mid-event.
 */
export function streamTruncation(
  events: ParsedSse[],
  terminal: ReadonlySet<string>,
  endName: string,
): string | undefined {
  const last = events[events.length - 1];
  if (!events.some((e) => e.data && terminal.has(e.type))) {
    return `stream truncated: no ${endName} (last event: ${lastEventText(last, last?.type)})`;
  }
  if (last && !last.complete) return `stream truncated: last event cut off (${last.type})`;
  return undefined;
}

/** "SSE events (N)" heading and a count table of `kinds` (column `header`), first-seen order. */
export function sseEventsBlocks(kinds: string[], header = "Event type"): Block[] {
  return [
    heading(`SSE events (${kinds.length})`),
    {
      kind: "table",
      header: [header, "Count"],
      rows: countInOrder(kinds).map(([t, n]) => [t, String(n)]),
    },
  ];
}

/**
 * The events appendix of a stream: the "SSE events" table of `kinds` (default: each event's
 * type), then raw samples: the first JSON event of each label `unknownLabel` returns
 * (undefined = a known event), the complete events whose data is not a JSON object (except
 * `sentinel` ones, e.g. "[DONE]"; a problem is pushed for them), and the last event when it
 * was cut off.
 */
export function streamEventBlocks(
  events: ParsedSse[],
  unknownLabel: (e: ParsedSse) => string | undefined,
  problems: string[],
  { kinds, sentinel = () => false }: {
    kinds?: string[];
    sentinel?: (e: ParsedSse) => boolean;
  } = {},
): Block[] {
  const blocks = sseEventsBlocks(kinds ?? events.map((e) => e.type));
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
  blocks.push(
    ...nonJsonEventBlocks(events.filter((e) => !e.data && e.complete && !sentinel(e)), problems),
  );
  const last = events[events.length - 1];
  if (last && !last.complete) blocks.push(...cutOffEventBlocks(last.raw));
  return blocks;
}

/**
 * "Events without JSON data (N)" and their raw text, with the problem "N SSE event(s) with
 * data that is not `what`"; nothing when `events` is empty.
 */
export function nonJsonEventBlocks(
  events: { type: string; raw: string }[],
  problems: string[],
  what = "a JSON object",
): Block[] {
  if (events.length === 0) return [];
  problems.push(`${events.length} SSE event(s) with data that is not ${what}`);
  const text = events.map((e) => `event: ${e.type}\ndata: ${truncate(e.raw, 2000)}`);
  return [
    heading(`Events without JSON data (${events.length})`),
    code(capText(text.join("\n\n")).text, "text"),
  ];
}

/** The raw text of a last event that was cut off mid-event. */
export function cutOffEventBlocks(raw: string): Block[] {
  return [heading("Last event (cut off)"), code(capText(raw, 4000).text, "text")];
}

/**
 * Inserts the paragraph "The stream was cut off (REASON). DETAIL" after the leading fields
 * blocks (where the summary ends).
 */
export function insertCutOffNote(blocks: Block[], reason: string, detail?: string): void {
  const at = blocks.findIndex((b) => b.kind !== "fields");
  const text = `The stream was cut off (${reason}).${detail ? ` ${detail}` : ""}`;
  blocks.splice(at < 0 ? blocks.length : at, 0, paragraph(text));
}

/**
 * For a stream found `truncated` ("stream truncated: REASON"): the problem, and the cut-off
 * note with `detail` (see {@link insertCutOffNote}). Nothing when it is undefined.
 */
export function noteTruncation(
  blocks: Block[],
  problems: string[],
  truncated: string | undefined,
  detail?: string,
): void {
  if (!truncated) return;
  problems.push(truncated);
  insertCutOffNote(blocks, truncated.replace(/^stream truncated: /, ""), detail);
}
