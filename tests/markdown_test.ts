/**
 * The Markdown writer, checked by parsing its output with a real CommonMark parser
 * (markdown-it) and asserting the structure, not substrings.
 */
import assert from "node:assert/strict";
import MarkdownIt from "markdown-it";
import {
  codeBlock,
  escapeCell,
  escapeHeading,
  escapeInline,
  escapeText,
  renderBlocks,
  table,
} from "../lib/markdown.ts";

const md = new MarkdownIt("commonmark").enable("table");

interface Token {
  type: string;
  tag: string;
  content: string;
  info: string;
  children: Token[] | null;
}

function tokens(text: string): Token[] {
  return md.parse(text, {}) as Token[];
}

/** The plain text a paragraph or cell renders to (inline children joined). */
function inlineText(token: Token): string {
  return (token.children ?? []).map((c) =>
    c.type === "softbreak" || c.type === "hardbreak" ? "\n" : c.content
  ).join("");
}

function onlyTypes(toks: Token[]): string[] {
  return toks.map((t) => t.type);
}

const NASTY = [
  "plain",
  "```",
  "````js",
  "`inline` and ``double``",
  "| a | b |",
  "|---|---|",
  "<script>alert(1)</script>",
  "<!-- comment -->",
  "# heading?",
  "- list?",
  "1. ordered?",
  "> quote?",
  "***",
  "===",
  "[link](http://x) ![img](http://y)",
  "*em* _em_ **strong** ~~del~~",
  "&amp; &lt; \\ backslash",
  "trailing #",
  "line1\nline2\r\nline3",
];

Deno.test("codeBlock survives any backtick run", async (t) => {
  for (const text of [...NASTY, NASTY.join("\n"), "``````", "x\n```\n````\n"]) {
    await t.step(JSON.stringify(text).slice(0, 50), () => {
      const toks = tokens(codeBlock(text, "text"));
      assert.deepEqual(onlyTypes(toks), ["fence"]);
      const lf = text.replace(/\r\n?/g, "\n");
      const want = lf.endsWith("\n") ? lf : lf + "\n";
      assert.equal(toks[0].content, want);
      assert.equal(toks[0].info, "text");
    });
  }
});

function assertPlainParagraph(markdown: string, want: string): void {
  const toks = tokens(markdown);
  assert.deepEqual(onlyTypes(toks), ["paragraph_open", "inline", "paragraph_close"], markdown);
  for (const c of toks[1].children ?? []) {
    assert.ok(c.type === "text", `unexpected ${c.type} token in ${JSON.stringify(markdown)}`);
  }
  assert.equal(inlineText(toks[1]), want.replace(/\r\n|\r|\n/g, " ⏎ "));
}

Deno.test("escaping keeps captured text as text", async (t) => {
  for (const text of NASTY) {
    await t.step(`escapeText ${JSON.stringify(text)}`, () => {
      assertPlainParagraph(escapeText(text), text);
    });
    await t.step(`escapeInline mid-line ${JSON.stringify(text)}`, () => {
      assertPlainParagraph("x " + escapeInline(text), "x " + text);
    });
    await t.step(`escapeHeading ${JSON.stringify(text)}`, () => {
      const toks = tokens("### " + escapeHeading(text));
      assert.deepEqual(onlyTypes(toks), ["heading_open", "inline", "heading_close"]);
      assert.equal(inlineText(toks[1]), text.replace(/\r\n|\r|\n/g, " ⏎ "));
    });
  }
  await t.step("snake_case and [] stay unescaped where they cannot be syntax", () => {
    assert.equal(
      escapeInline("parallel_tool_calls input[].role"),
      "parallel_tool_calls input[].role",
    );
    assert.equal(escapeInline("_x_ [a](b)"), "\\_x\\_ [a\\](b)");
  });
  await t.step("leading spaces cannot make an indented code block", () => {
    assert.deepEqual(onlyTypes(tokens(escapeText("      code?"))), [
      "paragraph_open",
      "inline",
      "paragraph_close",
    ]);
  });
});

Deno.test("table keeps its shape whatever the cells hold", async (t) => {
  await t.step("pipes, newlines and HTML in cells", () => {
    const rows = NASTY.map((text, i) => [String(i), text, `${text}|${text}`]);
    const toks = tokens(table(["#", "Text", "Twice"], rows));
    assert.equal(toks.filter((x) => x.type === "table_open").length, 1);
    assert.equal(toks.filter((x) => x.type === "tr_open").length, rows.length + 1);
    // Every row has exactly three cells, and each cell reads back as the original text.
    const cells = toks.filter((x) => x.type === "inline").map(inlineText);
    assert.equal(cells.length, (rows.length + 1) * 3);
    const flat = rows.flat().map((c) => c.replace(/\r\n|\r|\n/g, " ⏎ "));
    assert.deepEqual(cells.slice(3), flat);
    assert.ok(!toks.some((x) => x.type.startsWith("html")));
  });
  await t.step("escapeCell escapes every pipe", () => {
    assert.equal(escapeCell("a|b||c"), "a\\|b\\|\\|c");
  });
  await t.step("short rows are padded", () => {
    const toks = tokens(table(["a", "b"], [["1"]]));
    assert.equal(toks.filter((x) => x.type === "td_open").length, 2);
  });
});

Deno.test("renderBlocks produces one structure per block", async (t) => {
  await t.step("heading, paragraph, fields, table, code, list", () => {
    const out = renderBlocks([
      { kind: "heading", text: "Input ## items # <b>" },
      { kind: "paragraph", text: "- not a list <i>x</i>" },
      { kind: "fields", rows: [["Usage", "245 input | 89 output | 334 total"], ["A*", "b_c"]] },
      { kind: "table", header: ["k", "v"], rows: [["a|b", "```"]] },
      { kind: "code", text: "```\ncode\n```", lang: "json" },
      { kind: "list", items: ["one", "# two"] },
    ], 5);
    const toks = tokens(out);
    const heading = toks.findIndex((x) => x.type === "heading_open");
    assert.equal(toks[heading].tag, "h5");
    assert.equal(inlineText(toks[heading + 1]), "Input ## items # <b>");
    assert.equal(toks.filter((x) => x.type === "bullet_list_open").length, 2);
    assert.equal(toks.filter((x) => x.type === "table_open").length, 1);
    const fence = toks.find((x) => x.type === "fence");
    assert.equal(fence?.content, "```\ncode\n```\n");
    assert.ok(!toks.some((x) => x.type.startsWith("html")));
    // The usage line reads back verbatim.
    const texts = toks.filter((x) => x.type === "inline").map(inlineText);
    assert.ok(texts.includes("Usage: 245 input | 89 output | 334 total"), texts.join("\n"));
    assert.ok(texts.includes("- not a list <i>x</i>"));
  });
});

/** Seeded random strings from an alphabet of Markdown syntax, letters of several scripts and
 * lone surrogates: the cases where escaping depends on a neighbour. */
function randomTexts(count: number, seed: number): string[] {
  const alphabet = [
    "a",
    "Z",
    "9",
    "_",
    "_",
    "&",
    "#",
    ";",
    "]",
    "(",
    "[",
    "\\",
    "`",
    "*",
    "<",
    "~",
    "!",
    "\r",
    "\n",
    " ",
    "é",
    "ß",
    "٣",
    "𝒜",
    "\ud835",
    "\udc9c",
    "😀",
    "-",
    "x1",
    "amp;",
    "&#12;",
    // Letters only by case folding, which the reference's i flag applies.
    "\u212a",
    "\u017f",
    "\u0345",
  ];
  let state = seed;
  const next = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state % n;
  };
  const out: string[] = [];
  for (let k = 0; k < count; k++) {
    let s = "";
    for (let j = next(12); j > 0; j--) s += alphabet[next(alphabet.length)];
    out.push(s);
  }
  return out;
}

Deno.test("escapeInline on random text", async (t) => {
  const texts = randomTexts(3000, 7);
  await t.step("matches its definition (the regular expressions it replaced)", () => {
    const reference = (text: string) =>
      text.replace(/\r\n|\r|\n/g, " ⏎ ").replace(
        /[\\`*<~]|&(?=#?[a-z0-9]+;)|\](?=[(\[])|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/giu,
        "\\$&",
      );
    for (const text of texts) assert.equal(escapeInline(text), reference(text), text);
  });
  await t.step("a CommonMark parser reads the text back, nothing more", () => {
    for (const text of texts) {
      if (text.trim() === "" || /[\ud800-\udfff]/.test(text)) continue; // not a visible paragraph
      const toks = tokens("x " + escapeInline(text) + " x");
      assert.deepEqual(onlyTypes(toks), ["paragraph_open", "inline", "paragraph_close"], text);
      assert.equal(inlineText(toks[1]), "x " + text.replace(/\r\n|\r|\n/g, " ⏎ ") + " x", text);
    }
  });
});
