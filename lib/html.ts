/**
 * The HTML report writer: the Markdown report's sibling, as one self-contained page. It holds
 * its own style and one inline script; a Content-Security-Policy allows nothing else (no
 * network, no other script), so even an escaping mistake could not run captured markup.
 *
 * Each exchange is a collapsed `<details>` whose body sits in an inert `<template>`: the
 * browser parses it but neither styles nor lays it out, and the script clones it into the
 * page the first time the exchange is opened. A large report therefore opens as fast as its
 * list of summary lines.
 */
import { createHash } from "node:crypto";
import css from "./html_assets/report.css" with { type: "text" };
import script from "./html_assets/report.js" with { type: "text" };
import type { Block, ExchangeDoc, ExchangeRef, ReportWriter, SummaryDoc } from "./types.ts";
import { hiddenInName, standIn, visibleText } from "./visible.ts";

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML text content and quoted attribute values: `& < > " '` become
 * character references, so no captured text can open a tag, close an attribute or form an
 * entity; controls, bidi overrides and zero-width characters become visible stand-ins
 * (visible.ts), so names that look alike are told apart.
 *
 * @example
 * ```ts
 * escapeHtml(`<a href="x">`); // "&lt;a href=&quot;x&quot;&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(HTML_NAME_ESCAPE, escapeOne);
}

/**
 * What escapeHtml changes: the markup characters, and (as in a name, visible.ts) controls,
 * bidi and zero-width characters, but line breaks, which HTML shows as spaces.
 */
const HTML_NAME_ESCAPE = new RegExp(`[&<>"']|(?![\\n\\r])${hiddenInName.source}`, "g");

function escapeOne(c: string): string {
  return ESCAPES[c] ?? standIn(c.charCodeAt(0));
}

/** Escapes body text: markup characters, controls and bidi overrides (visible.ts). */
function escapeHtmlText(text: string): string {
  return visibleText(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

if (/<\/script|<!--/i.test(script)) {
  // Either would end or confuse the inline <script> element; the asset must avoid them.
  throw new Error("lib/html_assets/report.js must not contain '</script' or '<!--'");
}

/** The CSP source of the report's only script: `'sha256-…'` of its exact text. */
export const SCRIPT_HASH = `'sha256-${createHash("sha256").update(script).digest("base64")}'`;

/**
 * The report's Content-Security-Policy: nothing may be fetched, and the only script that may
 * run is the report's own.
 */
export const CONTENT_SECURITY_POLICY =
  `default-src 'none'; style-src 'unsafe-inline'; script-src ${SCRIPT_HASH}; ` +
  `base-uri 'none'; form-action 'none'`;

function headingLevel(baseLevel: number, level = 1): number {
  return Math.min(6, Math.max(1, baseLevel + level - 1));
}

/** A `<dl>` of label/value rows; each row is a `<div>` holding its `<dt>` and `<dd>`. */
function fieldList(rows: readonly [string, string][], className: string): string {
  const items = rows.map(([k, v]) =>
    `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`
  );
  return `<dl class="${className}">${items.join("")}</dl>\n`;
}

function tableHtml(header: readonly string[], rows: readonly string[][]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((row) =>
    `<tr>${header.map((_, i) => `<td>${escapeHtml(row[i] ?? "")}</td>`).join("")}</tr>\n`
  ).join("");
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}</tbody>\n</table>\n`;
}

function codeHtml(raw: string, lang = ""): string {
  const text = raw.includes("\r") ? raw.replace(/\r\n?/g, "\n") : raw;
  // A class name from a renderer's hint: only characters that need no escaping.
  const safeLang = lang.replace(/[^A-Za-z0-9_+-]/g, "");
  const cls = safeLang ? ` class="language-${safeLang}"` : "";
  return `<pre><code${cls}>${escapeHtmlText(text)}</code></pre>\n`;
}

/**
 * Renders blocks as HTML; a heading of relative level 1 becomes `<h{baseLevel}>` (capped at
 * h6), as in the Markdown writer. Empty field and item lists are left out, as there.
 */
export function blocksToHtml(blocks: readonly Block[], baseLevel: number): string {
  const parts: string[] = [];
  for (const block of blocks) {
    switch (block.kind) {
      case "heading": {
        const h = `h${headingLevel(baseLevel, block.level)}`;
        parts.push(`<${h}>${escapeHtml(block.text)}</${h}>\n`);
        break;
      }
      case "paragraph":
        parts.push(`<p>${paragraphHtml(block.text, block.refs)}</p>\n`);
        break;
      case "fields":
        if (block.rows.length > 0) parts.push(fieldList(block.rows, "fields"));
        break;
      case "table":
        parts.push(tableHtml(block.header, block.rows));
        break;
      case "code":
        parts.push(codeHtml(block.text, block.lang));
        break;
      case "list":
        if (block.items.length === 0) break;
        parts.push(
          `<ul>\n${block.items.map((i) => `<li>${escapeHtml(i)}</li>\n`).join("")}</ul>\n`,
        );
        break;
    }
  }
  return parts.join("");
}

/** An attribute ` name="value"`, escaped. */
function attr(name: string, value: string): string {
  return ` ${name}="${escapeHtml(value)}"`;
}

/** The toolbar; hidden until the script has filled it (without script it could not work). */
const TOOLBAR = `<nav class="toolbar" id="toolbar" aria-label="Filter exchanges" hidden>
<input type="search" id="filter" placeholder="Filter exchanges (text)" aria-label="Filter exchanges by text" autocomplete="off">
<select id="filter-endpoint" aria-label="Endpoint"><option value="">All endpoints</option></select>
<select id="filter-status" aria-label="Status"><option value="">All statuses</option></select>
<button type="button" id="expand-all">Expand all</button>
<button type="button" id="collapse-all">Collapse all</button>
<span id="shown-count" aria-live="polite"></span>
</nav>
<nav id="conversations" aria-label="Conversations" hidden>
<strong>Conversations</strong>
<ol id="conversation-list"></ol>
</nav>
`;

/**
 * The HTML report: h1 title, h2 summary sections, one collapsed `<details>` per exchange with
 * its h3 title in the `<summary>` and the body (h4 sections, h5 renderer headings) in a
 * `<template>` that the page's script instantiates when the exchange is first opened.
 */
export const htmlWriter: ReportWriter = {
  format: "html",
  begin(summary: SummaryDoc): string {
    const parts = [
      "<!DOCTYPE html>\n",
      '<html lang="en">\n<head>\n<meta charset="utf-8">\n',
      `<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">\n`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
      '<meta name="referrer" content="no-referrer">\n',
      `<title>${escapeHtml(summary.title)}</title>\n`,
      `<style>\n${css}</style>\n</head>\n<body>\n`,
      `<header>\n<h1>${escapeHtml(summary.title)}</h1>\n`,
      fieldList(summary.facts, "facts"),
      "</header>\n",
      TOOLBAR,
      "<main>\n",
    ];
    for (const section of summary.sections) {
      parts.push(`<section>\n<h2>${escapeHtml(section.title)}</h2>\n`);
      parts.push(blocksToHtml(section.blocks, 3), "</section>\n");
    }
    parts.push(`<section id="log">\n<h2>${escapeHtml(summary.logTitle)}</h2>\n`);
    parts.push(
      '<noscript><p class="note">Exchange bodies are shown by the page\'s script; ' +
        "enable JavaScript to read them.</p></noscript>\n",
    );
    return parts.join("");
  },
  exchange(doc: ExchangeDoc): string {
    const attrs = attr("id", `ex-${doc.index}`) + attr("data-method", doc.method) +
      attr("data-path", doc.path) + attr("data-status", doc.status) +
      attr("data-renderer", doc.renderer) +
      (doc.conversation === undefined ? "" : attr("data-conversation", doc.conversation));
    const title = `${doc.index}. ${doc.method} ${doc.path} → ${doc.status}`;
    const badges = [
      ...(doc.conversation === undefined ? [] : [
        `<span class="badge conversation">${
          escapeHtml(`conversation ${doc.conversation}`.trim())
        }</span>`,
      ]),
      ...(doc.problems ?? []).map((p) =>
        `<span class="badge problem"${attr("title", p)}>${escapeHtml(p)}</span>`
      ),
    ];
    return `<details class="exchange"${attrs}>\n` +
      `<summary><h3>${escapeHtml(title)}</h3>${badges.join("")}</summary>\n` +
      `<template><div class="ex-body">\n${blocksToHtml(doc.blocks, 4)}</div></template>\n` +
      "</details>\n";
  },
  end(): string {
    return `</section>\n</main>\n<script>${script}</script>\n</body>\n</html>\n`;
  },
};

/** A paragraph's text, escaped, with the exchanges it names (`refs`) as links to them. */
function paragraphHtml(text: string, refs: readonly ExchangeRef[] = []): string {
  let out = "";
  let from = 0;
  for (const r of refs) {
    out += escapeHtml(text.slice(from, r.at)) +
      `<a href="#ex-${r.index}">${escapeHtml(text.slice(r.at, r.at + r.length))}</a>`;
    from = r.at + r.length;
  }
  return out + escapeHtml(text.slice(from));
}
