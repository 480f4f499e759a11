/**
 * The Markdown report writer: turns document blocks into CommonMark (with GFM tables) that
 * never breaks, whatever the capture holds. All escaping of captured text happens here.
 */
import type { Block, ExchangeDoc, ReportWriter, SummaryDoc } from "./types.ts";
import { hiddenInName, isHiddenInName, standIn, visibleText } from "./visible.ts";

/** What escapeInline changes: Markdown syntax, and what visible.ts makes visible in a name. */
const NEEDS_INLINE_ESCAPE = new RegExp(`[\\r\\n\\\\\`*<~&\\]_]|${hiddenInName.source}`);

/**
 * Escapes text that sits inside a line (after other text): everything that could start
 * emphasis, code, a link, raw HTML or an entity is backslash-escaped, and nothing more, so the
 * raw report stays readable (`snake_case` keeps its underscores). Line breaks become " ⏎ " so
 * one value stays one line; other controls, bidi overrides and zero-width characters are made
 * visible (visible.ts: a name that looks like another is shown as different). `|` is left
 * alone: it only matters in tables ({@link escapeCell}).
 *
 * @example
 * ```ts
 * escapeInline("<b>*x*</b>"); // "\\<b>\\*x\\*\\</b>"
 * ```
 */
export function escapeInline(text: string): string {
  // Most values (ids, paths, numbers) need nothing: skip the scan for them.
  if (!NEEDS_INLINE_ESCAPE.test(text)) return text;
  // One pass that copies only around what it changes: this runs for every cell of a report.
  let out = "";
  let from = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    let rep: string;
    if (c === 0x5c || c === 0x60 || c === 0x2a || c === 0x3c || c === 0x7e) { // \ ` * < ~
      rep = "\\" + text[i];
    } else if (c === 0x0a || c === 0x0d) {
      rep = " ⏎ ";
      if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) {
        out += text.slice(from, i) + rep;
        from = ++i + 1;
        continue;
      }
    } else if (c === 0x26) { // & only where it would start an entity
      ENTITY.lastIndex = i + 1;
      if (!ENTITY.test(text)) continue;
      rep = "\\&";
    } else if (c === 0x5d) { // ] only where it would close a link text
      const next = text.charCodeAt(i + 1);
      if (next !== 0x28 && next !== 0x5b) continue;
      rep = "\\]";
    } else if (c === 0x5f) { // _ only where it could open or close emphasis
      if (wordBefore(text, i) && wordAfter(text, i)) continue;
      rep = "\\_";
    } else if ((c < 0x20 && c !== 0x09) || (c >= 0x7f && isHiddenInName(c))) {
      rep = standIn(c);
    } else continue;
    out += text.slice(from, i) + rep;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** An entity's name and `;`, matched where `lastIndex` puts it (right after a `&`). */
const ENTITY = /#?[a-z0-9]+;/iuy;
const WORD = /^[\p{L}\p{N}]$/iu;

/** A letter or digit (any script): `_` between two of them is part of a word. */
function isWord(c: number, text: string, at: number, length: number): boolean {
  if (c < 0x80) {
    return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  }
  return WORD.test(text.slice(at, at + length));
}

function wordBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const c = text.charCodeAt(i - 1);
  const pair = c >= 0xdc00 && c <= 0xdfff && i >= 2 &&
    text.charCodeAt(i - 2) >= 0xd800 && text.charCodeAt(i - 2) <= 0xdbff;
  return pair ? isWord(0x10000, text, i - 2, 2) : isWord(c, text, i - 1, 1);
}

function wordAfter(text: string, i: number): boolean {
  if (i + 1 >= text.length) return false;
  const c = text.charCodeAt(i + 1);
  const pair = c >= 0xd800 && c <= 0xdbff && text.charCodeAt(i + 2) >= 0xdc00 &&
    text.charCodeAt(i + 2) <= 0xdfff;
  return isWord(c, text, i + 1, pair ? 2 : 1);
}

/**
 * Escapes text that starts a block (a paragraph or list item): inline escaping, plus a first
 * character that would make the line a heading, quote, list, thematic break, setext underline,
 * link reference definition or indented code.
 */
export function escapeText(text: string): string {
  const out = escapeInline(text.replace(/^[ \t]+/, ""));
  if (/^\d+[.)]/.test(out)) return out.replace(/^(\d+)([.)])/, "$1\\$2");
  return /^[#>+=\-[]/.test(out) ? "\\" + out : out;
}

/** Escapes heading text: a trailing run of `#` would otherwise be read as a closing sequence. */
export function escapeHeading(text: string): string {
  return escapeInline(text).replace(/#/g, "\\#");
}

/** Escapes text for a GFM table cell: inline escaping plus `|`. Empty cells stay empty. */
export function escapeCell(text: string): string {
  const out = escapeInline(text);
  return out.includes("|") ? out.replace(/\|/g, "\\|") : out;
}

/**
 * A fenced code block whose fence is longer than any backtick run in the text, so captured
 * text holding ``` (or longer runs) cannot close it early.
 */
export function codeBlock(raw: string, lang = ""): string {
  // CommonMark reads CR and CRLF as line ends anyway; normalising makes that explicit.
  // Controls and bidi overrides made visible: a report printed to a terminal must not drive it.
  const text = visibleText(raw.includes("\r") ? raw.replace(/\r\n?/g, "\n") : raw);
  let longest = 0;
  const runs = text.match(/`+/g);
  if (runs) { for (const run of runs) longest = Math.max(longest, run.length); }
  const fence = "`".repeat(Math.max(3, longest + 1));
  const body = text.endsWith("\n") ? text : text + "\n";
  // The info string must not contain backticks; a lang from a renderer never should.
  const info = lang.replace(/[`\s]/g, "");
  return `${fence}${info}\n${body}${fence}\n`;
}

export function table(header: string[], rows: string[][]): string {
  // Built by appending: this runs for every row of every exchange.
  const n = header.length;
  let out = "| ";
  for (let i = 0; i < n; i++) out += (i > 0 ? " | " : "") + escapeCell(header[i]);
  out += " |\n|";
  for (let i = 0; i < n; i++) out += i > 0 ? "|---" : "---";
  out += "|\n";
  for (const row of rows) {
    out += "| ";
    for (let i = 0; i < n; i++) out += (i > 0 ? " | " : "") + escapeCell(row[i] ?? "");
    out += " |\n";
  }
  return out;
}

/** Renders blocks; a heading of relative level 1 becomes a Markdown heading of `baseLevel`. */
export function renderBlocks(blocks: readonly Block[], baseLevel: number): string {
  const parts: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case "heading": {
        const level = Math.min(6, Math.max(1, baseLevel + (block.level ?? 1) - 1));
        parts.push(`${"#".repeat(level)} ${escapeHeading(block.text)}\n`);
        break;
      }
      case "paragraph":
        parts.push(escapeText(block.text) + "\n");
        break;
      case "fields":
        if (block.rows.length === 0) continue;
        parts.push(
          block.rows.map(([k, v]) => `- **${escapeInline(k)}:** ${escapeInline(v)}`).join("\n") +
            "\n",
        );
        break;
      case "table":
        parts.push(table(block.header, block.rows));
        break;
      case "code":
        parts.push(codeBlock(block.text, block.lang));
        break;
      case "list":
        if (block.items.length === 0) continue;
        parts.push(block.items.map((item) => `- ${escapeText(item)}`).join("\n") + "\n");
        break;
    }
  }
  return parts.join("\n");
}

/** The Markdown report: h1 title, h2 summary sections, h3 per exchange. */
export const markdownWriter: ReportWriter = {
  format: "markdown",
  begin(summary: SummaryDoc): string {
    const parts = [`# ${escapeHeading(summary.title)}\n`];
    parts.push(
      summary.facts.map(([k, v]) => `- ${escapeInline(k)}: ${escapeInline(v)}`).join("\n") + "\n",
    );
    for (const section of summary.sections) {
      parts.push(`## ${escapeHeading(section.title)}\n`);
      parts.push(renderBlocks(section.blocks, 3));
    }
    parts.push(`## ${escapeHeading(summary.logTitle)}\n`);
    return parts.join("\n") + "\n";
  },
  exchange(doc: ExchangeDoc): string {
    const title = `### ${doc.index}\\. ${escapeHeading(`${doc.method} ${doc.path}`)} → ${
      escapeHeading(doc.status)
    }\n`;
    return title + "\n" + renderBlocks(doc.blocks, 4) + "\n";
  },
  end(): string {
    return "";
  },
};
