/**
 * Text shortening for table cells and code blocks: code-point counts, cuts that never split a
 * surrogate pair, one-line excerpts. Nothing here escapes Markdown: the report writer does that.
 *
 * @module
 */

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

/** Counts of `keys` in first-seen order. */
export function countInOrder(keys: Iterable<string>): [string, number][] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts];
}
