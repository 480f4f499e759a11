/**
 * The sample report: compared exactly with its golden file (refresh with
 * `deno test -A tests/report_test.ts -- --update`), checked against the seed's verification
 * list, and parsed with a CommonMark parser to check its structure.
 */
import assert from "node:assert/strict";
import MarkdownIt from "markdown-it";
import { analyzeFile } from "../lib/analyze.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { codex } from "../targets/codex.ts";

const testdata = new URL("../testdata/", import.meta.url);
const SAMPLE = new URL("sample_traffic.jsonl", testdata).pathname;
const HOSTILE = new URL("hostile_traffic.jsonl", testdata).pathname;
const GOLDEN = new URL("sample_report.golden.md", testdata).pathname;
const GOLDEN_FULL = new URL("sample_report_full.golden.md", testdata).pathname;
const UPDATE = Deno.args.includes("--update");
const NOW = new Date("2026-02-05T09:00:00.000Z");

interface Token {
  type: string;
  tag: string;
  content: string;
  info: string;
  children: Token[] | null;
}
const md = new MarkdownIt("commonmark").enable("table");

async function report(input: string, sourceLabel: string, full = false): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    const output = `${dir}/report.md`;
    const warnings: string[] = [];
    await analyzeFile({
      input,
      output,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: (l) => warnings.push(l),
      now: NOW,
      sourceLabel,
      full,
    });
    assert.deepEqual(warnings, []);
    return await Deno.readTextFile(output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function headings(tokens: Token[]): [string, string][] {
  const out: [string, string][] = [];
  tokens.forEach((t, i) => {
    if (t.type === "heading_open") out.push([t.tag, tokens[i + 1].content]);
  });
  return out;
}

Deno.test("sample report", async (t) => {
  const text = await report(SAMPLE, "testdata/sample_traffic.jsonl");

  await t.step("matches the golden file exactly", async () => {
    if (UPDATE) await Deno.writeTextFile(GOLDEN, text);
    const golden = await Deno.readTextFile(GOLDEN);
    assert.equal(text, golden, "report changed; rerun with -- --update if intended");
  });

  await t.step("--full matches its golden file exactly", async () => {
    const full = await report(SAMPLE, "testdata/sample_traffic.jsonl", true);
    if (UPDATE) await Deno.writeTextFile(GOLDEN_FULL, full);
    assert.equal(full, await Deno.readTextFile(GOLDEN_FULL), "rerun with -- --update if intended");
    // The complete view repeats the tools table in every request; the delta view once.
    assert.equal(full.split("| write_file | function |").length - 1, 3);
    assert.equal(text.split("| write_file | function |").length - 1, 1);
  });

  const tokens = md.parse(text, {}) as Token[];
  const hs = headings(tokens);

  await t.step("seed verification 2: header totals", () => {
    assert.match(text, /^- Total requests: 3$/m);
    assert.match(text, /^- Capture duration: 9\.7s$/m);
  });

  await t.step("seed verification 3: endpoint table shows /v1/responses with count 3", () => {
    const start = hs.findIndex(([, h]) => h === "Endpoints");
    assert.ok(start >= 0);
    const tableStart = tokens.findIndex((tk, i) =>
      tk.type === "table_open" && i > tokens.findIndex((x) => x.content === "Endpoints")
    );
    const cells: string[] = [];
    for (let i = tableStart; tokens[i].type !== "table_close"; i++) {
      if (tokens[i].type === "inline") cells.push(tokens[i].content);
    }
    assert.deepEqual(cells, ["Path", "Methods", "Count", "/v1/responses", "POST", "3"]);
  });

  await t.step("sections in the seed's order, problems and usage first", () => {
    const top = hs.filter(([tag]) => tag === "h1" || tag === "h2").map(([, h]) => h);
    assert.deepEqual(top, [
      "Codex Traffic Analysis Report",
      "Problems",
      "Token Usage",
      "Conversations",
      "Context Composition",
      "Cache Misses",
      "Endpoints",
      "HTTP Methods",
      "Status Codes",
      "Payload Structure",
      "Full Conversation Log",
    ]);
  });

  await t.step("seed verification 4: three exchanges with text, write_file, shell", () => {
    const titles = hs.filter(([tag, h]) => tag === "h3" && /^\d+\\?\./.test(h)).map(([, h]) => h);
    assert.deepEqual(titles, [
      "1\\. POST /v1/responses → 200",
      "2\\. POST /v1/responses → 200",
      "3\\. POST /v1/responses → 200",
    ]);
    const sections = text.split(/^### \d+\\\. /m).slice(1);
    assert.equal(sections.length, 3);
    assert.match(sections[0], /def is_prime\(n: int\) -> bool:/);
    assert.doesNotMatch(sections[0], /write_file\b.*call_write_1/);
    assert.match(sections[1], /^- \*\*Name:\*\* write_file$/m);
    assert.match(sections[1], /Saving the function/);
    assert.match(sections[1], /"path": "prime.py"/);
    assert.match(sections[2], /^- \*\*Name:\*\* shell$/m);
    assert.match(sections[2], /"pytest"/);
  });

  await t.step("seed verification 5: authorization is redacted, the key never appears", () => {
    assert.match(text, /\| authorization \| Bearer \[REDACTED\] \|/);
    assert.doesNotMatch(text, /sk-proj-SAMPLE/);
    assert.doesNotMatch(text, /org-sample123/);
  });

  await t.step("seed verification 6: usage per response", () => {
    const usages = [...text.matchAll(/^- \*\*Usage:\*\* (.*)$/gm)].map((m) => m[1]);
    assert.deepEqual(usages, [
      "245 input | 89 output | 334 total",
      "412 input | 156 output | 568 total | 256 cached | 64 reasoning",
      "703 input | 41 output | 744 total | 512 cached",
    ]);
  });

  await t.step("no raw HTML reaches the rendered Markdown", () => {
    assert.ok(!tokens.some((tk) => tk.type.startsWith("html")));
  });
});

Deno.test("hostile capture keeps the report's structure", async (t) => {
  const text = await report(HOSTILE, "hostile_traffic.jsonl");
  const tokens = md.parse(text, {}) as Token[];
  const hs = headings(tokens);

  await t.step("exactly the expected headings: no injected ones", () => {
    const exchanges = hs.filter(([tag, h]) => tag === "h3" && /^\d+\\?\./.test(h));
    assert.equal(exchanges.length, 2);
    assert.ok(!hs.some(([, h]) => h.includes("not a heading")));
  });

  await t.step("key tables say how many keys there are when all are shown", () => {
    const keys = hs.filter(([, h]) => h.includes(" keys ("));
    assert.deepEqual(keys, [["h3", "Request keys (15)"], ["h3", "Response keys (18)"]]);
  });

  await t.step("no HTML tokens, so <script> stays text", () => {
    const html = tokens.filter((tk) =>
      tk.type.startsWith("html") ||
      (tk.children ?? []).some((c) => c.type.startsWith("html"))
    );
    assert.deepEqual(html, []);
    const rendered = md.render(text);
    assert.doesNotMatch(rendered, /<script>/);
    assert.match(rendered, /&lt;script&gt;/);
  });

  await t.step("code blocks hold the bodies whole, backtick runs included", () => {
    const fences = tokens.filter((tk) => tk.type === "fence").map((tk) => tk.content);
    assert.ok(fences.some((f) => f.includes("Use ``` fences and ```` longer ones.")));
    assert.ok(fences.some((f) => f.includes("````\n</pre><script>alert(2)</script>\n````")));
  });

  await t.step("every table row has as many cells as its header", () => {
    let cols = 0;
    let cells = 0;
    for (const tk of tokens) {
      if (tk.type === "thead_open") cols = 0;
      if (tk.type === "th_open") cols++;
      if (tk.type === "tr_open") cells = 0;
      if (tk.type === "td_open") cells++;
      if (tk.type === "tr_close" && cells > 0) assert.equal(cells, cols);
    }
  });

  await t.step("query-string and header secrets are redacted", () => {
    assert.doesNotMatch(text, /AIzaSECRET|sk-ant-api03-SECRET/);
    assert.match(text, /key=\[REDACTED\]/);
  });
});

Deno.test("usageFieldsText lists what the usage line does not show", async () => {
  const { usageFieldsText } = await import("../renderers/response.ts");
  const shown = new Set(["input_tokens", "output_tokens", "input_tokens_details.cached_tokens"]);
  assert.deepEqual(
    usageFieldsText({
      input_tokens: 5,
      output_tokens: 1,
      input_tokens_details: { cached_tokens: 2, audio_tokens: 3, image_tokens: 0 },
      service_tier: "priority",
      note: null,
      extra: [],
    }, shown),
    "input_tokens_details.audio_tokens: 3, service_tier: priority",
  );
  assert.deepEqual(usageFieldsText({ input_tokens: 5, output_tokens: 1 }, shown), undefined);
});

Deno.test("an exchange's cost line", async () => {
  const { costText } = await import("../lib/report.ts");
  const table = builtinPriceTable();
  const usage = { input: 1_000_000, output: 100_000, total: 1_100_000 };
  assert.equal(costText(table, "gpt-5.2", usage), "$3.15");
  assert.equal(costText(table, undefined, usage), "no price (the model is not named)");
  assert.equal(costText(table, "gpt-9", usage), "no price (gpt-9 not in the price table)");
  assert.equal(
    costText(table, "claude-haiku-4-5", { ...usage, serverTools: { mystery_requests: 2 } }),
    "$1.50; no price for mystery_requests",
  );
});
