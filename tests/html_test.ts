/**
 * The HTML writer without a browser: its output is parsed with a real HTML parser (parse5,
 * the WHATWG algorithm) and the resulting tree is checked, not substrings. Escaping of every
 * block kind and every field, the Content-Security-Policy and its script hash, the absence of
 * any outside reference, and headings identical to the Markdown report's.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import MarkdownIt from "markdown-it";
import { parse, parseFragment } from "parse5";
import { analyzeFile } from "../lib/analyze.ts";
import { blocksToHtml, CONTENT_SECURITY_POLICY, escapeHtml, htmlWriter } from "../lib/html.ts";
import type { Block, ExchangeDoc, ReportWriter, SummaryDoc } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

// ---------------------------------------------------------------------------------------------
// A parsed tree (parse5's default tree adapter, reduced to what the tests read)

interface Node {
  nodeName: string;
  tagName?: string;
  attrs?: { name: string; value: string }[];
  childNodes?: Node[];
  /** Text of a #text node. */
  value?: string;
  /** A <template>'s contents (a fragment). */
  content?: Node;
}

function parseDocument(html: string): Node {
  return parse(html) as unknown as Node;
}

function parseHtmlFragment(html: string): Node {
  return parseFragment(html) as unknown as Node;
}

/** Child nodes in document order; a template's are its content's. */
function children(node: Node): Node[] {
  return node.content?.childNodes ?? node.childNodes ?? [];
}

/** Every element under `node` in document order, template contents included. */
function elements(node: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node) => {
    for (const c of children(n)) {
      if (c.tagName) out.push(c);
      visit(c);
    }
  };
  visit(node);
  return out;
}

function byTag(node: Node, tag: string): Node[] {
  return elements(node).filter((e) => e.tagName === tag);
}

function one(node: Node, tag: string): Node {
  const found = byTag(node, tag);
  assert.equal(found.length, 1, `exactly one <${tag}>`);
  return found[0];
}

function childElements(node: Node): Node[] {
  return children(node).filter((c) => c.tagName);
}

/** The text content, template contents included. */
function textOf(node: Node): string {
  if (node.nodeName === "#text") return node.value ?? "";
  return children(node).map(textOf).join("");
}

function attrsOf(node: Node): Record<string, string> {
  return Object.fromEntries((node.attrs ?? []).map((a) => [a.name, a.value]));
}

/** The element tree without text: `tag[attr,...](children)`, for comparing structure. */
function shape(node: Node): string {
  return childElements(node).map((e) => {
    const names = (e.attrs ?? []).map((a) => a.name).join(",");
    return `${e.tagName}${names ? `[${names}]` : ""}(${shape(e)})`;
  }).join("");
}

/** Headings as [tag, text], in document order. */
function htmlHeadings(root: Node): [string, string][] {
  return elements(root).filter((e) => /^h[1-6]$/.test(e.tagName ?? "")).map((e) => [
    e.tagName!,
    textOf(e),
  ]);
}

interface MdToken {
  type: string;
  tag: string;
  children: MdToken[] | null;
  content: string;
}

const md = new MarkdownIt("commonmark").enable("table");

/** The Markdown report's headings as [tag, rendered text]. */
function markdownHeadings(markdown: string): [string, string][] {
  const tokens = md.parse(markdown, {}) as MdToken[];
  const out: [string, string][] = [];
  tokens.forEach((t, i) => {
    if (t.type !== "heading_open") return;
    out.push([t.tag, (tokens[i + 1].children ?? []).map((c) => c.content).join("")]);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const testdata = new URL("../testdata/", import.meta.url);
const NOW = new Date("2026-02-05T09:00:00.000Z");

async function report(name: string, writer?: ReportWriter): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const output = `${dir}/report`;
    const warnings: string[] = [];
    await analyzeFile({
      input: new URL(`${name}_traffic.jsonl`, testdata).pathname,
      output,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: (l) => warnings.push(l),
      now: NOW,
      sourceLabel: `testdata/${name}_traffic.jsonl`,
      writer,
    });
    assert.deepEqual(warnings, []);
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Text that would be markup, an entity, an attribute break or a script if left raw. */
const NASTY = [
  "<script>alert(1)</script>",
  "</template></details><script>alert(2)</script>",
  "</pre></code><img src=x onerror=alert(3)>",
  `" onmouseover="alert(4)`,
  `' autofocus onfocus='alert(5)`,
  "&amp; &lt; &#60; &#x3c; &",
  "<!-- comment --> <![CDATA[x]]> <!DOCTYPE html>",
  "</textarea></title></style></script></noscript>",
  "line1\nline2\r\nline3\rline4",
  "```\n| a | b |\n# heading",
];

/** What the parser makes of a text: HTML input turns CRLF and CR into LF. */
function parsed(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** One block of each kind, all holding `s`. */
function everyKind(s: string): Block[] {
  return [
    { kind: "heading", text: s },
    { kind: "paragraph", text: s },
    { kind: "fields", rows: [[s, s]] },
    { kind: "table", header: [s, s], rows: [[s, s]] },
    { kind: "code", text: s, lang: "text" },
    { kind: "list", items: [s, s] },
  ];
}

// ---------------------------------------------------------------------------------------------

Deno.test("escapeHtml behaviour", async (t) => {
  await t.step("escapes & < > \" ' and nothing else", () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&amp;</a>`),
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;",
    );
    const plain = "snake_case `code` *x* # é 🙂 ⏎\n\t|";
    assert.equal(escapeHtml(plain), plain);
    assert.equal(escapeHtml(""), "");
  });
});

Deno.test("blocksToHtml behaviour", async (t) => {
  await t.step("renders each block kind", () => {
    const html = blocksToHtml([
      { kind: "heading", text: "Request Body" },
      { kind: "paragraph", text: "Hello" },
      { kind: "fields", rows: [["Model", "o4-mini"], ["Stream", "true"]] },
      { kind: "table", header: ["Key", "Count"], rows: [["a", "1"]] },
      { kind: "code", text: "{}", lang: "json" },
      { kind: "list", items: ["one", "two"] },
    ], 4);
    assert.equal(
      html,
      "<h4>Request Body</h4>\n" +
        "<p>Hello</p>\n" +
        '<dl class="fields"><div><dt>Model</dt><dd>o4-mini</dd></div>' +
        "<div><dt>Stream</dt><dd>true</dd></div></dl>\n" +
        "<table>\n<thead><tr><th>Key</th><th>Count</th></tr></thead>\n" +
        "<tbody>\n<tr><td>a</td><td>1</td></tr>\n</tbody>\n</table>\n" +
        '<pre><code class="language-json">{}</code></pre>\n' +
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n",
    );
  });

  await t.step("heading levels are relative to the base and stay within h1..h6", () => {
    const levels = (base: number, level?: number) =>
      blocksToHtml([{ kind: "heading", text: "x", level }], base);
    assert.equal(levels(4), "<h4>x</h4>\n");
    assert.equal(levels(4, 2), "<h5>x</h5>\n");
    assert.equal(levels(3, 1), "<h3>x</h3>\n");
    assert.equal(levels(5, 4), "<h6>x</h6>\n");
    assert.equal(levels(1, -3), "<h1>x</h1>\n");
  });

  await t.step("empty field and item lists are left out; empty tables are not", () => {
    assert.equal(blocksToHtml([{ kind: "fields", rows: [] }, { kind: "list", items: [] }], 4), "");
    assert.equal(
      blocksToHtml([{ kind: "table", header: ["A"], rows: [] }], 4),
      "<table>\n<thead><tr><th>A</th></tr></thead>\n<tbody>\n</tbody>\n</table>\n",
    );
  });

  await t.step("table rows are cut or padded to the header, as in Markdown", () => {
    const root = parseHtmlFragment(
      blocksToHtml([{ kind: "table", header: ["A", "B"], rows: [["1"], ["1", "2", "3"]] }], 4),
    );
    assert.deepEqual(
      byTag(root, "tr").map((tr) => childElements(tr).map(textOf)),
      [["A", "B"], ["1", ""], ["1", "2"]],
    );
  });

  await t.step("code keeps its text verbatim; the language hint cannot escape", () => {
    const root = parseHtmlFragment(
      blocksToHtml([{ kind: "code", text: "\nlead\r\n  x < y\n", lang: 'js" onclick="x' }], 4),
    );
    assert.equal(shape(root), "pre(code[class]())");
    const code = one(root, "code");
    assert.equal(textOf(code), "\nlead\n  x < y\n");
    assert.deepEqual(attrsOf(code), { class: "language-jsonclickx" });
    assert.equal(blocksToHtml([{ kind: "code", text: "x" }], 4), "<pre><code>x</code></pre>\n");
  });

  await t.step("hostile text in every block kind stays text", async (t) => {
    const want = shape(parseHtmlFragment(blocksToHtml(everyKind("plain"), 4)));
    assert.equal(
      want,
      "h4()p()dl[class](div(dt()dd()))table(thead(tr(th()th()))tbody(tr(td()td())))" +
        "pre(code[class]())ul(li()li())",
    );
    for (const s of NASTY) {
      await t.step(JSON.stringify(s).slice(0, 40), () => {
        const root = parseHtmlFragment(blocksToHtml(everyKind(s), 4));
        assert.equal(shape(root), want);
        // Every leaf element holds exactly the captured text.
        const leaves = ["h4", "p", "dt", "dd", "th", "td", "code", "li"];
        for (const tag of leaves) {
          for (const el of byTag(root, tag)) assert.equal(textOf(el), parsed(s), tag);
        }
        assert.equal(elements(root).length, 20);
      });
    }
  });
});

const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&amp;`;

function hostileDoc(): ExchangeDoc {
  return {
    index: 7,
    method: `GET${HOSTILE}`,
    path: `/p${HOSTILE}`,
    status: `500${HOSTILE}`,
    renderer: `r${HOSTILE}`,
    conversation: `c${HOSTILE}`,
    problems: [`p1${HOSTILE}`, "p2"],
    blocks: everyKind(HOSTILE),
  };
}

Deno.test("htmlWriter.exchange behaviour", async (t) => {
  await t.step("hostile values in every field are escaped in text and attributes", () => {
    const root = parseHtmlFragment(htmlWriter.exchange(hostileDoc()));
    const [details] = childElements(root);
    assert.equal(childElements(root).length, 1);
    assert.deepEqual(attrsOf(details), {
      class: "exchange",
      id: "ex-7",
      "data-method": `GET${HOSTILE}`,
      "data-path": `/p${HOSTILE}`,
      "data-status": `500${HOSTILE}`,
      "data-renderer": `r${HOSTILE}`,
      "data-conversation": `c${HOSTILE}`,
    });
    assert.deepEqual(childElements(details).map((e) => e.tagName), ["summary", "template"]);
    const [summary, template] = childElements(details);
    assert.equal(
      shape(summary),
      "h3()span[class]()span[class,title]()span[class,title]()",
    );
    assert.equal(
      textOf(one(summary, "h3")),
      `7. GET${HOSTILE} /p${HOSTILE} → 500${HOSTILE}`,
    );
    const badges = byTag(summary, "span");
    assert.deepEqual(badges.map(textOf), [`conversation c${HOSTILE}`, `p1${HOSTILE}`, "p2"]);
    assert.deepEqual(badges.map((b) => attrsOf(b).title), [undefined, `p1${HOSTILE}`, "p2"]);
    // The body: one wrapper, then exactly the blocks, in the template only.
    const [body] = childElements(template);
    assert.deepEqual(attrsOf(body), { class: "ex-body" });
    assert.equal(
      shape(body),
      "h4()p()dl[class](div(dt()dd()))table(thead(tr(th()th()))tbody(tr(td()td())))" +
        "pre(code[class]())ul(li()li())",
    );
    assert.equal(byTag(root, "script").length, 0);
    assert.equal(byTag(root, "img").length, 0);
  });

  await t.step("a doc without conversation or problems has no such attribute or badge", () => {
    const root = parseHtmlFragment(htmlWriter.exchange({
      index: 1,
      method: "POST",
      path: "/v1/responses",
      status: "200",
      renderer: "openai_responses",
      blocks: [],
    }));
    const [details] = childElements(root);
    assert.deepEqual(attrsOf(details), {
      class: "exchange",
      id: "ex-1",
      "data-method": "POST",
      "data-path": "/v1/responses",
      "data-status": "200",
      "data-renderer": "openai_responses",
    });
    assert.equal(shape(details), "summary(h3())template(div[class]())");
    assert.equal(textOf(one(details, "h3")), "1. POST /v1/responses → 200");
    assert.equal(attrsOf(details).open, undefined);
  });

  await t.step("the output does not depend on begin or earlier calls", () => {
    const first = htmlWriter.exchange(hostileDoc());
    htmlWriter.begin({ title: "t", facts: [], sections: [], logTitle: "l" });
    htmlWriter.exchange({ ...hostileDoc(), index: 8, conversation: undefined });
    htmlWriter.end();
    assert.equal(htmlWriter.exchange(hostileDoc()), first);
  });
});

Deno.test("htmlWriter document", async (t) => {
  const sample = await report("sample", htmlWriter);
  const doc = parseDocument(sample);

  await t.step("a strict Content-Security-Policy whose hash matches the only script", () => {
    const [html] = childElements(doc);
    const [head, body] = childElements(html);
    const [charset, csp] = childElements(head);
    assert.deepEqual(attrsOf(charset), { charset: "utf-8" });
    assert.equal(attrsOf(csp)["http-equiv"], "Content-Security-Policy");
    const policy = attrsOf(csp).content;
    assert.equal(policy, CONTENT_SECURITY_POLICY);
    const scripts = byTag(doc, "script");
    assert.equal(scripts.length, 1);
    assert.deepEqual(attrsOf(scripts[0]), {});
    assert.equal(childElements(body).at(-1), scripts[0]);
    const hash = createHash("sha256").update(textOf(scripts[0])).digest("base64");
    const directives = policy.split(";").map((d) => d.trim());
    assert.deepEqual(directives, [
      "default-src 'none'",
      "style-src 'unsafe-inline'",
      `script-src 'sha256-${hash}'`,
      "base-uri 'none'",
      "form-action 'none'",
    ]);
    // The policy comes before anything it governs.
    assert.deepEqual(childElements(head).map((e) => e.tagName), [
      "meta",
      "meta",
      "meta",
      "meta",
      "title",
      "style",
    ]);
  });

  await t.step("nothing outside the page is referenced", () => {
    const forbiddenTags = [
      "link",
      "img",
      "iframe",
      "frame",
      "object",
      "embed",
      "video",
      "audio",
      "source",
      "track",
      "base",
      "form",
      "picture",
      "svg",
      "math",
    ];
    const resourceAttrs = ["src", "srcset", "action", "formaction", "poster", "data", "ping"];
    const hrefs: string[] = [];
    const ids = new Set<string>();
    for (const el of elements(doc)) {
      assert.ok(!forbiddenTags.includes(el.tagName!), `<${el.tagName}>`);
      for (const { name, value } of el.attrs ?? []) {
        assert.ok(!resourceAttrs.includes(name), `${name}="${value}" on <${el.tagName}>`);
        assert.ok(!/^on/i.test(name), `${name} on <${el.tagName}>`);
        assert.ok(!/^(style|background|xlink:href)$/.test(name), `${name} on <${el.tagName}>`);
        if (name === "href") {
          hrefs.push(value);
          assert.match(value, /^#ex-\d+$/);
        }
        if (name === "id") ids.add(value);
        assert.ok(!/^\s*(javascript|data|vbscript):/i.test(value), `${name}="${value}"`);
      }
    }
    // Only links to the page's own exchanges ("the same as #1's").
    for (const href of hrefs) assert.ok(ids.has(href.slice(1)), href);
    const css = textOf(one(doc, "style"));
    assert.ok(!/url\(|@import|\/\//i.test(css.replace(/\/\*[\s\S]*?\*\//g, "")));
    const script = textOf(one(doc, "script"));
    for (
      const api of [
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "EventSource",
        "sendBeacon",
        "import(",
        "http:",
        "https:",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        'setAttribute("on',
      ]
    ) {
      assert.ok(!script.includes(api), `the script uses ${api}`);
    }
  });

  await t.step("each exchange is a closed <details> with its body in a <template>", () => {
    const details = byTag(doc, "details");
    assert.deepEqual(details.map((d) => attrsOf(d).id), ["ex-1", "ex-2", "ex-3"]);
    for (const d of details) {
      assert.equal(attrsOf(d).open, undefined);
      assert.equal(attrsOf(d).class, "exchange");
      assert.equal(attrsOf(d)["data-path"], "/v1/responses");
      assert.equal(attrsOf(d)["data-status"], "200");
      assert.equal(attrsOf(d)["data-renderer"], "openai_responses");
      assert.deepEqual(childElements(d).map((e) => e.tagName), ["summary", "template"]);
      // Outside the template there is only the summary line (the sample has no problems).
      const summary = childElements(d)[0];
      assert.match(shape(summary), /^h3\(\)(span\[class\]\(\))?$/);
    }
    assert.deepEqual(
      details.map((d) => textOf(one(d, "h3"))),
      ["1. POST /v1/responses → 200", "2. POST /v1/responses → 200", "3. POST /v1/responses → 200"],
    );
    const second = childElements(details[1])[1];
    assert.ok(byTag(second, "dd").some((dd) => textOf(dd) === "write_file"));
  });

  await t.step("the toolbar's controls exist, empty until the script fills them", () => {
    const ids = new Map(elements(doc).map((e) => [attrsOf(e).id, e]));
    for (
      const id of [
        "toolbar",
        "filter",
        "filter-endpoint",
        "filter-status",
        "expand-all",
        "collapse-all",
        "shown-count",
        "conversations",
        "conversation-list",
      ]
    ) assert.ok(ids.has(id), id);
    assert.equal(attrsOf(ids.get("toolbar")!).hidden, "");
    assert.equal(attrsOf(ids.get("conversations")!).hidden, "");
    assert.deepEqual(byTag(ids.get("filter-status")!, "option").map(textOf), ["All statuses"]);
    assert.equal(childElements(ids.get("conversation-list")!).length, 0);
  });

  for (const name of ["sample", "html_multi", "hostile"]) {
    await t.step(`${name}: the same headings as the Markdown report`, async () => {
      const html = name === "sample" ? sample : await report(name, htmlWriter);
      const want = markdownHeadings(await report(name));
      assert.ok(want.length > 10);
      assert.deepEqual(htmlHeadings(parseDocument(html)), want);
    });
  }

  await t.step("hostile capture: captured markup makes no element", async () => {
    const root = parseDocument(await report("hostile", htmlWriter));
    assert.equal(byTag(root, "script").length, 1);
    const bodyTags = new Set(
      byTag(root, "template").flatMap((tpl) => elements(tpl).map((e) => e.tagName)),
    );
    const allowed = ["div", "h4", "h5", "h6", "p", "dl", "dt", "dd", "table", "thead", "tbody"]
      .concat(["tr", "th", "td", "pre", "code", "ul", "li"]);
    for (const tag of bodyTags) assert.ok(allowed.includes(tag!), `<${tag}> in a body`);
    for (const el of elements(root)) {
      for (const a of el.attrs ?? []) assert.ok(!/^on/i.test(a.name), a.name);
    }
    const codes = byTag(root, "code").map(textOf);
    assert.ok(codes.some((c) => c.includes("<script>alert('x')</script>")));
    assert.ok(codes.some((c) => c.includes("</pre><script>alert(2)</script>")));
    assert.ok(byTag(root, "td").some((td) => textOf(td) === "a | b <b>bold</b>"));
  });
});

Deno.test("htmlWriter.begin behaviour", async (t) => {
  await t.step("hostile summary text is escaped everywhere", () => {
    const summary: SummaryDoc = {
      title: `T${HOSTILE}`,
      facts: [[`F${HOSTILE}`, `V${HOSTILE}`]],
      sections: [{
        title: `S${HOSTILE}`,
        blocks: [{ kind: "heading", text: `H${HOSTILE}` }, ...everyKind(HOSTILE).slice(1)],
      }],
      logTitle: `L${HOSTILE}`,
    };
    const root = parseDocument(htmlWriter.begin(summary) + htmlWriter.end());
    assert.equal(textOf(one(root, "title")), `T${HOSTILE}`);
    assert.deepEqual(htmlHeadings(root), [
      ["h1", `T${HOSTILE}`],
      ["h2", `S${HOSTILE}`],
      ["h3", `H${HOSTILE}`],
      ["h2", `L${HOSTILE}`],
    ]);
    const facts = byTag(root, "dl")[0];
    assert.equal(attrsOf(facts).class, "facts");
    assert.deepEqual(byTag(facts, "dt").map(textOf), [`F${HOSTILE}`]);
    assert.deepEqual(byTag(facts, "dd").map(textOf), [`V${HOSTILE}`]);
    assert.equal(byTag(root, "script").length, 1);
    assert.equal(byTag(root, "img").length, 0);
  });
});
