/**
 * Secrets that only a stream's pieces read together show: a key its deltas split (`"s"`,
 * `"k-proj-…"`), a secret field of JSON streamed in pieces (`{\"pass`, `word\": \"…\"}`).
 * Reports read a streamed answer or tool call joined, so they mask these; the capture addon
 * (lib/addon.py, `split_secrets`) masks them in the JSONL the same way, and this module in the
 * raw bodies and messages of a `--keep-secrets` capture (HAR, the viewer, OTLP).
 */
import {
  ESCAPED_JSON_STRING_FIELD,
  ESCAPED_MASK,
  escapedObjectSpans,
  hasKeyShapePrefix,
  isMasked,
  isSecretName,
  KEY_SHAPES_SOURCE,
  maskTextSecrets,
  normalizeName,
  plainFirst,
  REDACTED,
} from "./redact.ts";

/** A JSON string field `"name": "value"` as written, escapes kept. */
const STRING_FIELD = /"([^"\\\n]{1,64})"\s*:\s*"([^"\\\n]*(?:\\.[^"\\\n]*)*)"/g;
/** A JSON string field written two levels down (`\\\"name\\\": \\\"value\\\"`), a value without escapes. */
const ESCAPED2_FIELD = /\\\\\\"([^"\\]{1,128})\\\\\\"\s*:\s*\\\\\\"([^"\\]*)\\\\\\"/g;
/** A field holding an index (`"index": 1`, `"output_index": 0`) with its value. */
const INDEX_FIELD = /"(?:[A-Za-z]+_)?index"\s*:\s*\d+/g;
const KEY_SHAPES = new RegExp(KEY_SHAPES_SOURCE, "g");

/** Where one field's value stands: which text, from, to. */
interface Piece {
  text: number;
  from: number;
  to: number;
}

/** A secret found in a channel's joined text: the part to mask, and where its match starts. */
interface Found {
  from: number;
  to: number;
  matchFrom: number;
  /** What the piece where it starts gets in its place. */
  mask: string;
}

/** One cut into a text: replace from..to with `mask`. */
interface Cut {
  from: number;
  to: number;
  mask: string;
}

/**
 * `texts` (a stream's SSE text, or the messages one side of a WebSocket sent, in order) with
 * the secrets masked that show only when the string fields of one name are read joined. The
 * piece where a secret starts gets the mask, the others lose their part of it. Fields are read
 * as written, escapes kept: a key's characters are never escaped, so the pieces are cut where
 * they stand and every text stays the JSON it was. The same array when nothing was masked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSplitSecrets } from "./redact_split.ts";
 *
 * const deltas = ["key: s", "k-proj-0123456789", "abcdefghijk done"]
 *   .map((d) => `data: {"delta":"${d}"}\n\n`);
 * assert.equal(
 *   maskSplitSecrets([deltas.join("")])[0],
 *   'data: {"delta":"key: [REDACTED]"}\n\ndata: {"delta":""}\n\ndata: {"delta":" done"}\n\n',
 * );
 * ```
 */
export function maskSplitSecrets(texts: readonly string[]): readonly string[] {
  const cuts = splitCuts(texts);
  if (cuts.size === 0) return texts;
  return texts.map((text, index) => {
    const todo = cuts.get(index);
    return todo ? applyCuts(text, todo) : text;
  });
}

/** {@link maskSplitSecrets}' cuts, by the index of the text they cut. */
function splitCuts(texts: readonly string[]): Map<number, Cut[]> {
  const channels = new Map<string, Piece[]>();
  texts.forEach((text, index) => {
    const marks = [...text.matchAll(INDEX_FIELD)];
    const at = marks.map((x) => x.index);
    for (const m of text.matchAll(STRING_FIELD)) {
      const to = m.index + m[0].length - 1;
      // Pieces of parallel streams (tool calls, choices, content blocks) are told apart by the
      // indexes written before them in their event.
      const line = text.lastIndexOf("\n", m.index) + 1;
      const context = marks.slice(countBelow(at, line), countBelow(at, m.index));
      const channel = [m[1], ...context.map((x) => x[0])].join("\u0000");
      const pieces = channels.get(channel) ?? [];
      pieces.push({ text: index, from: to - m[2].length, to });
      channels.set(channel, pieces);
    }
  });
  const cuts = new Map<number, Cut[]>();
  for (const pieces of channels.values()) {
    if (pieces.length < 2) continue;
    const values = pieces.map((p) => texts[p.text].slice(p.from, p.to));
    const found = secretsIn(values.join(""));
    if (found.length === 0) continue;
    const starts = [0];
    for (const v of values) starts.push(starts[starts.length - 1] + v.length);
    for (const f of found) {
      const last = pieceAt(starts, f.to - 1);
      if (pieceAt(starts, f.matchFrom) === last) continue; // the per-event masking sees it
      const first = pieceAt(starts, f.from);
      for (let k = first; k <= last; k++) {
        const p = pieces[k];
        const cut = {
          from: p.from + Math.max(f.from - starts[k], 0),
          to: p.from + Math.min(f.to - starts[k], p.to - p.from),
          mask: k === first ? f.mask : "",
        };
        cuts.set(p.text, [...(cuts.get(p.text) ?? []), cut]);
      }
    }
  }
  return cuts;
}

/**
 * A stream's text body (SSE, NDJSON, a JSON array of chunks) with its secrets masked: first
 * those its pieces show read together ({@link maskSplitSecrets}), over each SSE event's data as
 * the spec reads it (its `data:` lines joined: `{"content":` | `data: "sk-…"}`), then each
 * event's or the whole text's ({@link maskTextSecrets}); an event whose JSON spans several
 * `data:` lines is masked joined and written back on its first one, when a field of it was.
 * Keys and names written with `\u` escapes are read plain ({@link plainFirst}).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskStreamText } from "./redact_split.ts";
 *
 * const body = 'data: {"user": "me", "password":\ndata: "hunter2"}\n\n';
 * assert.equal(maskStreamText(body), 'data: {"user":"me","password":"[REDACTED]"}\n\n');
 * ```
 */
export function maskStreamText(text: string): string {
  return plainFirst(text, maskStreamAsWritten);
}

function maskStreamAsWritten(text: string): string {
  const events = hasMultilineData(text) ? sseDataLines(text) : undefined;
  const split = events ? splitJoinedEvents(text, events) : maskSplitSecrets([text])[0];
  const masked = maskTextSecrets(split);
  return events ? maskMultilineEvents(masked) : masked;
}

/** A value's place in a text: from, to. */
type Span = readonly [number, number];

/**
 * Whether an SSE event may have more than one `data:` line (cheap: a block between blank lines
 * holding "data" twice; a CRLF stream is one such block and gets the full parse).
 */
function hasMultilineData(text: string): boolean {
  return text.split("\n\n").some((block) => block.indexOf("data", block.indexOf("data") + 4) >= 0);
}

/** One line of an SSE stream and its line break (CRLF, LF or CR, as the spec allows). */
const SSE_LINE = /([^\r\n]*)(\r\n|\r|\n|$)/g;

/**
 * Each event's `data` lines as the spans of their values in `text`, parsed as the SSE spec
 * does (a blank line ends an event; one space after the colon is not the value's).
 */
function sseDataLines(text: string): Span[][] {
  const events: Span[][] = [];
  let lines: Span[] = [];
  for (const m of text.matchAll(SSE_LINE)) {
    const line = m[1];
    if (!line) {
      if (lines.length) events.push(lines);
      lines = [];
      if (!m[2]) break;
      continue;
    }
    if (!line.startsWith("data")) continue;
    const end = m.index + line.length;
    if (line === "data") lines.push([end, end]);
    else if (line[4] === ":") {
      const from = m.index + 5 + (text[m.index + 5] === " " ? 1 : 0);
      lines.push([from, end]);
    }
  }
  if (lines.length) events.push(lines);
  return events;
}

/**
 * {@link maskSplitSecrets} over the events' data joined, cut in the text itself. A JSON string
 * never holds a raw line break, so a secret stays within one line's data. A space stands where
 * the spec puts "\n": the same to JSON, and the event stays one line, so the indexes written
 * before a field in its event are read.
 */
function splitJoinedEvents(text: string, events: readonly Span[][]): string {
  let view = "";
  const segments: { view: number; text: number; length: number }[] = [];
  for (const lines of events) {
    view += "data: ";
    lines.forEach(([from, to], k) => {
      if (k) view += " ";
      segments.push({ view: view.length, text: from, length: to - from });
      view += text.slice(from, to);
    });
    view += "\n\n";
  }
  const cuts = splitCuts([view]).get(0);
  if (!cuts) return text;
  const starts = segments.map((s) => s.view);
  const moved: Cut[] = [];
  for (const cut of cuts) {
    const s = segments[countBelow(starts, cut.from, true) - 1];
    if (cut.from >= s.view && cut.to <= s.view + s.length) {
      moved.push({ ...cut, from: cut.from - s.view + s.text, to: cut.to - s.view + s.text });
    }
  }
  return applyCuts(text, moved);
}

/**
 * Secret fields of the events whose JSON spans several `data:` lines: such an event's data is
 * masked joined and written back on its first data line (the others go).
 */
function maskMultilineEvents(text: string): string {
  const cuts: Cut[] = [];
  for (const lines of sseDataLines(text)) {
    if (lines.length < 2) continue;
    const data = lines.map(([from, to]) => text.slice(from, to)).join("\n");
    const masked = maskTextSecrets(data);
    if (masked === data || /[\r\n]/.test(masked)) continue;
    cuts.push({ from: lines[0][0], to: lines[0][1], mask: masked });
    for (let k = 1; k < lines.length; k++) {
      // The line and the line break before it: the field's name starts at `data` before `from`.
      const field = text.lastIndexOf("data", lines[k][0]);
      const lineStart = text[field - 1] === "\n" && text[field - 2] === "\r"
        ? field - 2
        : field - 1;
      cuts.push({ from: lineStart, to: lines[k][1], mask: "" });
    }
  }
  return cuts.length ? applyCuts(text, cuts) : text;
}

/**
 * A JSON array body (a stream's chunks) with what its chunks show read together masked, as
 * {@link maskSplitSecrets} does in its text; any other value as it is. The same value when
 * nothing was masked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSplitJson } from "./redact_split.ts";
 *
 * const chunks = ["key s", "k-proj-0123456789abcdefghijk"].map((text) => ({ text }));
 * assert.deepEqual(maskSplitJson(chunks), [{ text: "key [REDACTED]" }, { text: "" }]);
 * ```
 */
export function maskSplitJson(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const text = JSON.stringify(value);
  const masked = maskSplitSecrets([text])[0];
  return masked === text ? value : JSON.parse(masked);
}

/**
 * WebSocket messages with what one side's texts show read in order masked (each of `sides`
 * apart) by `mask` ({@link maskSplitSecrets} unless given); messages of another shape as they
 * are. The same array when nothing was masked.
 */
export function maskSplitMessages<T>(
  messages: readonly T[],
  sides: readonly string[] = ["client", "server"],
  mask: (texts: readonly string[]) => readonly string[] = maskSplitSecrets,
): readonly T[] {
  let out: T[] | undefined;
  for (const side of sides) {
    const at = messages.flatMap((m, i) => {
      const r = m as { from?: unknown; text?: unknown } | null;
      return typeof r === "object" && r !== null && r.from === side && typeof r.text === "string"
        ? [i]
        : [];
    });
    const texts = at.map((i) => (messages[i] as { text: string }).text);
    const masked = mask(texts);
    if (masked === texts) continue;
    out ??= [...messages];
    at.forEach((i, k) => out![i] = { ...messages[i], text: masked[k] });
  }
  return out ?? messages;
}

/**
 * Each secret field's value of JSON written in `joined`, and each key shape outside those:
 * a key inside a field's value is covered by the field's mask.
 */
function secretsIn(joined: string): Found[] {
  const fields: Found[] = [];
  if (joined.includes('\\"')) {
    // Also a level deeper (a file's JSON that streamed tool arguments write), for values
    // without escapes of their own; `close` is the length of the value's closing quote.
    for (const [pattern, close] of [[ESCAPED_JSON_STRING_FIELD, 2], [ESCAPED2_FIELD, 4]] as const) {
      for (const m of joined.matchAll(pattern)) {
        const value = m[2];
        if (!value || !isSecretName(normalizeName(m[1])) || isMasked(value)) continue;
        const to = m.index + m[0].length - close;
        fields.push({ from: to - value.length, to, matchFrom: m.index, mask: REDACTED });
      }
    }
    for (const span of escapedObjectSpans(joined)) fields.push({ ...span, mask: ESCAPED_MASK });
  }
  if (!hasKeyShapePrefix(joined)) return fields;
  const keys: Found[] = [];
  for (const m of joined.matchAll(KEY_SHAPES)) {
    if (fields.some((f) => f.from <= m.index && m.index < f.to)) continue;
    keys.push({ from: m.index, to: m.index + m[0].length, matchFrom: m.index, mask: REDACTED });
  }
  return [...fields, ...keys];
}

/** How many of the sorted `positions` are below `offset` (`inclusive`: at or below it). */
function countBelow(positions: readonly number[], offset: number, inclusive = false): number {
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (positions[mid] < offset || (inclusive && positions[mid] === offset)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the piece holding character `offset` of the joined text. */
function pieceAt(starts: readonly number[], offset: number): number {
  return countBelow(starts, offset, true) - 1;
}

function applyCuts(text: string, cuts: readonly Cut[]): string {
  const sorted = [...cuts].sort((a, b) => a.from - b.from || a.to - b.to);
  let out = "";
  let pos = 0;
  for (const cut of sorted) {
    if (cut.from < pos) continue;
    out += text.slice(pos, cut.from) + cut.mask;
    pos = cut.to;
  }
  return out + text.slice(pos);
}
