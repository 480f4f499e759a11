/**
 * The corpus: testdata/corpus/*.jsonl, captures written in the shapes real API traffic has
 * (web search, code execution, MCP, compaction, advisor sub-calls, citations, file search,
 * provider extras, snake_case Gemini, safety blocks, Vertex AI; see testdata/corpus/README.md).
 * One test per file checks the fields a reader needs; one run over the whole folder fails on
 * any renderer failure, any known API left unrecognised, or any usage line that does not add
 * up.
 */
import assert from "node:assert/strict";
import { analyzeFile, rendererChooser } from "../lib/analyze.ts";
import { ConversationTracker } from "../lib/conversation.ts";
import { exchangeCost } from "../lib/prices.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { exchangeDoc, type RenderedExchange } from "../lib/report.ts";
import { responseView } from "../lib/response_view.ts";
import { Totals } from "../lib/totals.ts";
import type { Block, Entry, Target, Usage } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import type { AnalysisModel } from "../lib/model/types.ts";
import {
  codeTexts,
  fieldMap,
  headings,
  must,
  section,
  table,
  tableRows,
} from "./tools/render_helpers.ts";

const DIR = new URL("../testdata/corpus/", import.meta.url);

/** A target whose fallback is the generic renderer, so a format detection miss shows. */
const PROBE_TARGET: Target = {
  name: "corpus",
  description: "corpus test",
  reportTitle: "Corpus",
  renderer: "generic",
  proxies: [],
  env: {},
  manualSteps: [],
  redactedHeaders: [],
};

const choose = rendererChooser(builtinRenderers, PROBE_TARGET);

async function load(name: string): Promise<Entry[]> {
  const text = await Deno.readTextFile(new URL(`${name}.jsonl`, DIR));
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

function analyze(entry: Entry, index = 1): RenderedExchange {
  return exchangeDoc({
    index,
    entry,
    response: responseView(entry),
    renderer: choose(entry),
    redactHeaders: (h) => h,
    redactUrl: (u) => u,
    start: entry.timestamp,
    conversations: new ConversationTracker(),
    full: true,
    prices: builtinPriceTable(),
  });
}

async function exchanges(name: string): Promise<RenderedExchange[]> {
  return (await load(name)).map((e, i) => analyze(e, i + 1));
}

const blocksOf = (x: RenderedExchange): Block[] => must(x.response).blocks;
const usageOf = (x: RenderedExchange): Usage => must(x.response?.usage);

/** Why a usage does not add up, or undefined when it does (sub-calls too). */
function usageFault(u: Usage, where = "usage"): string | undefined {
  const counts = [u.input, u.output, u.total, u.cached, u.cacheWrite, u.reasoning, u.toolPrompt];
  if (counts.some((n) => n !== undefined && (!Number.isInteger(n) || n < 0))) {
    return `${where}: a count is not a whole number ≥ 0: ${JSON.stringify(u)}`;
  }
  if (u.input + u.output !== u.total) return `${where}: input + output ≠ total`;
  if ((u.cached ?? 0) + (u.cacheWrite ?? 0) > u.input) return `${where}: cache > input`;
  if ((u.cacheWrite1h ?? 0) > (u.cacheWrite ?? 0)) return `${where}: 1h writes > writes`;
  if ((u.toolPrompt ?? 0) > u.input) return `${where}: tool prompt > input`;
  if ((u.reasoning ?? 0) > u.output) return `${where}: reasoning > output`;
  for (const sub of u.subCalls ?? []) {
    const fault = usageFault(sub.usage, `${where} ${sub.kind}`);
    if (fault) return fault;
  }
  return undefined;
}

/**
 * Models the corpus uses that the price table does not list (no verified list price), so
 * their cost must read "no price" rather than a guess.
 */
const UNPRICED: ReadonlySet<string> = new Set(["gpt-4o-search-preview-2025-03-11"]);

/** Paths of the model APIs probe knows: an exchange on one must not fall to "generic". */
const KNOWN_API =
  /\/v1\/messages$|\/responses$|\/chat\/completions$|:(?:stream)?[gG]enerateContent$|\/publishers\/anthropic\/models\/[^/]+:(?:stream)?[rR]awPredict$/;

Deno.test("corpus: every file renders, is recognised and adds up", async (t) => {
  const files = [...Deno.readDirSync(DIR)].filter((f) => f.name.endsWith(".jsonl"))
    .map((f) => f.name.replace(/\.jsonl$/, "")).sort();
  assert.ok(files.length >= 10, `corpus holds ${files.length} files`);
  for (const name of files) {
    await t.step(name, async () => {
      const entries = await load(name);
      assert.ok(entries.length > 0);
      entries.forEach((entry, i) => {
        const x = analyze(entry, i + 1);
        const where = `${name}.jsonl line ${i + 1}`;
        const failed = x.problems.filter((p) => p.startsWith("renderer failed"));
        assert.deepEqual(failed, [], `${where}: internal error`);
        if (KNOWN_API.test(new URL(entry.request.url).pathname)) {
          assert.notEqual(x.doc.renderer, "generic", `${where}: known API not recognised`);
        }
        const usage = x.response?.usage;
        if (usage) assert.equal(usageFault(usage), undefined, `${where}: ${usageFault(usage)}`);
        const model = x.response?.model ?? x.request.model;
        if (usage && entry.response?.status_code === 200 && !UNPRICED.has(model ?? "")) {
          const cost = exchangeCost(builtinPriceTable(), model, usage);
          assert.deepEqual(cost.unpriced, [], `${where}: ${model} has no price`);
          assert.ok(cost.cost > 0, `${where}: priced at 0`);
        }
      });
      // The whole file through analyze: a report, no exception.
      const dir = await Deno.makeTempDir();
      try {
        await analyzeFile({
          input: new URL(`${name}.jsonl`, DIR).pathname,
          output: `${dir}/r.md`,
          target: PROBE_TARGET,
          renderers: builtinRenderers,
          prices: builtinPriceTable(),
          warn: (line) => assert.fail(`warning: ${line}`),
        });
        assert.match(await Deno.readTextFile(`${dir}/r.md`), /## Token Usage/);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("corpus: Anthropic web search with citations", async () => {
  const [x] = await exchanges("anthropic_web_search_citations");
  const blocks = blocksOf(x);
  assert.deepEqual(x.problems, []);
  // Text split by the citation reads as written, in the order produced around the search.
  assert.deepEqual(headings(blocks).slice(0, 5), [
    "Output text",
    "Tool calls",
    "Tool results",
    "Output text",
    "Citations (1)",
  ]);
  const texts = blocks.filter((b) => b.kind === "code").map((b) => b.kind === "code" && b.text);
  assert.ok(
    texts.includes("Leaders will meet at the summit. The White House confirmed it for 12 May."),
  );
  assert.deepEqual(tableRows(section(blocks, "Citations (1)")), [[
    "1",
    "web_search_result_location",
    "The White House confirmed the summit for 12 May.",
    "Summit dates announced: https://example.org/news/summit-dates",
  ]]);
  const results = section(blocks, "Tool results");
  assert.deepEqual(results[1], {
    kind: "list",
    items: [
      "Summit dates announced: https://example.org/news/summit-dates (April 2, 2026)",
      "Leaders to meet: https://example.net/leaders",
    ],
  });
  assert.deepEqual(usageOf(x), {
    input: 9850,
    output: 164,
    total: 10014,
    serverTools: { web_search_requests: 1 },
  });
  assert.equal(
    fieldMap(blocks).Usage,
    "9850 input | 164 output | 10014 total | web_search 1 request",
  );
  // $3 / $15 per million for Sonnet 4.5, plus $0.01 for the search.
  const cost = exchangeCost(builtinPriceTable(), "claude-sonnet-4-5-20250929", usageOf(x));
  assert.equal(cost.cost.toFixed(6), ((9850 * 3 + 164 * 15) / 1e6 + 0.01).toFixed(6));
});

Deno.test("corpus: Anthropic compaction and advisor sub-calls", async () => {
  const [compaction, advisor] = await exchanges("anthropic_compaction_advisor");
  assert.deepEqual(compaction.problems, []);
  const blocks = blocksOf(compaction);
  assert.deepEqual(headings(blocks).slice(0, 2), ["Compaction summary", "Output text"]);
  assert.match(codeTexts(section(blocks, "Compaction summary"))[0], /^Summary of the conversation/);
  assert.deepEqual(usageOf(compaction), {
    input: 23000,
    output: 1000,
    total: 24000,
    subCalls: [{ kind: "compaction", usage: { input: 180000, output: 3500, total: 183500 } }],
  });
  assert.equal(
    fieldMap(blocks).Usage,
    "23000 input | 1000 output | 24000 total; + compaction: 180000 input | 3500 output | " +
      "183500 total",
  );
  const adv = usageOf(advisor);
  assert.deepEqual(adv.subCalls, [{
    kind: "advisor_message",
    model: "claude-opus-4-6",
    usage: { input: 2400, output: 310, total: 2710 },
  }]);
  assert.equal(
    codeTexts(section(blocksOf(advisor), "Tool results"))[0],
    "Yes: per-client token buckets with a shared Redis store.",
  );
  // The totals count the advisor's tokens for Opus 4.6 and the compaction's for Sonnet 4.6.
  const totals = new Totals(builtinPriceTable());
  totals.addUsage(compaction.response?.model, usageOf(compaction));
  totals.addUsage(advisor.response?.model, adv);
  const rows = Object.fromEntries(table(totals.usageBlocks()).rows.map((r) => [r[0], r]));
  assert.deepEqual(rows["claude-sonnet-4-6"].slice(1, 7), [
    "2",
    "2",
    String(23000 + 180000 + 1800),
    "0",
    "0",
    String(1000 + 3500 + 240),
  ]);
  assert.deepEqual(rows["claude-opus-4-6"].slice(1, 7), ["0", "0", "2400", "0", "0", "310"]);
  const opus = (2400 * 5 + 310 * 25) / 1e6;
  assert.equal(rows["claude-opus-4-6"].at(-1), `$${opus.toFixed(2)}`);
  // The exchange's own cost line splits it by model.
  const sonnet = (1800 * 3 + 240 * 15) / 1e6;
  assert.equal(
    fieldMap(advisor.doc.blocks)["Est. cost"],
    `$${(sonnet + opus).toFixed(2)} (claude-sonnet-4-6 $${sonnet.toFixed(4)}, ` +
      `claude-opus-4-6 $${opus.toFixed(2)})`,
  );
});

Deno.test("corpus: Anthropic interleaved thinking and code execution", async () => {
  const [x] = await exchanges("anthropic_interleaved_code_execution");
  const blocks = blocksOf(x);
  assert.deepEqual(x.problems, []);
  assert.deepEqual(headings(blocks), [
    "Thinking",
    "Tool calls",
    "Tool results",
    "Thinking",
    "Output text",
  ]);
  assert.deepEqual(fieldMap(section(blocks, "Tool results")), {
    "Type": "bash_code_execution_tool_result",
    "Tool use ID": "srvtoolu_01BX",
    "Result": "bash_code_execution_result",
    "Return code": "0",
  });
  assert.ok(codeTexts(section(blocks, "Tool results")).includes("1042 data.csv\n"));
  assert.deepEqual(usageOf(x), {
    input: 55100,
    output: 820,
    total: 55920,
    cached: 40000,
    cacheWrite: 12000,
    cacheWrite1h: 10000,
    reasoning: 530,
  });
  // Usage fields the line does not show are listed, not dropped.
  assert.equal(fieldMap(blocks)["Usage fields"], "service_tier: standard");
  const cost = exchangeCost(builtinPriceTable(), "claude-opus-4-6", usageOf(x)).cost;
  const expected = (3100 * 5 + 40000 * 0.5 + 2000 * 6.25 + 10000 * 10 + 820 * 25) / 1e6;
  assert.equal(cost.toFixed(6), expected.toFixed(6));
});

Deno.test("corpus: Anthropic MCP connector", async () => {
  const [x] = await exchanges("anthropic_mcp");
  const blocks = blocksOf(x);
  assert.deepEqual(headings(blocks), ["Output text", "Tool calls", "Tool results", "Output text"]);
  assert.equal(fieldMap(section(blocks, "Tool calls"))["MCP server"], "tracker");
  assert.deepEqual(codeTexts(section(blocks, "Tool results")), [
    "#12 Login fails on Safari\n#15 Export drops the last row",
  ]);
});

Deno.test("corpus: one failed exchange is one problem; an unterminated stream is whole", async () => {
  const [failed, stream] = await exchanges("anthropic_error_and_unterminated_stream");
  assert.deepEqual(failed.problems, ["API error 529: Overloaded"]);
  assert.deepEqual(stream.problems, []);
  assert.deepEqual(usageOf(stream), { input: 12, output: 5, total: 17 });
});

Deno.test("corpus: Responses web search with url_citation annotations", async () => {
  const [x] = await exchanges("openai_responses_web_search");
  const blocks = blocksOf(x);
  assert.deepEqual(x.problems, []);
  // Hosted-tool progress events are known: no raw samples of "other events".
  assert.deepEqual(headings(blocks).slice(0, 3), ["Tool calls", "Output text", "Citations (1)"]);
  assert.ok(!headings(blocks).includes("Other events (first of each type)"));
  assert.deepEqual(tableRows(section(blocks, "Citations (1)")), [[
    "1",
    "url_citation",
    "12 May, according to the White House",
    "Summit dates announced: https://example.org/news/summit-dates?utm_source=openai",
  ]]);
  assert.deepEqual(usageOf(x), {
    input: 8120,
    output: 240,
    total: 8360,
    reasoning: 128,
  });
});

Deno.test("corpus: Responses file search and code interpreter citations, in order", async () => {
  const [x] = await exchanges("openai_responses_file_search_code");
  const blocks = blocksOf(x);
  assert.deepEqual(headings(blocks), [
    "Reasoning summary",
    "Tool calls",
    "Output text",
    "Citations (1)",
    "Tool calls",
    "Output text",
    "Citations (1)",
  ]);
  const rows = blocks.filter((b) => b.kind === "table").map((b) => b.kind === "table" && b.rows[0]);
  assert.deepEqual(rows, [
    ["1", "file_citation", "", "file refund_policy.pdf (file-2dtbBZdjtDKS8eqWxqbgDi)"],
    [
      "1",
      "container_file_citation",
      "refunds.png",
      "file refunds.png (cfile_68ab99) in container cntr_68ab",
    ],
  ]);
});

Deno.test("corpus: Chat Completions provider extras shown; [DONE] without a blank line", async () => {
  const [azure, stream, search] = await exchanges("openai_chat_provider_extras");
  assert.equal(
    fieldMap(search.doc.blocks)["Est. cost"],
    "no price (gpt-4o-search-preview-2025-03-11 not in the price table)",
  );
  assert.deepEqual(tableRows(section(blocksOf(search), "Citations (1)")), [[
    "1",
    "url_citation",
    "Lisbon is sunny today",
    "IPMA forecast: https://www.ipma.pt/en/?utm_source=openai",
  ]]);
  const blocks = blocksOf(azure);
  assert.deepEqual(azure.problems, []);
  const other = JSON.parse(codeTexts(section(blocks, "Other fields"))[0]);
  assert.deepEqual(Object.keys(other), ["prompt_filter_results", "moderation"]);
  assert.equal(other.moderation.model, "omni-moderation-latest");
  const choice = JSON.parse(codeTexts(section(blocks, "Other choice fields"))[0]);
  assert.deepEqual(Object.keys(choice), ["content_filter_results"]);
  assert.equal(fieldMap(blocks)["System fingerprint"], "fp_a1b2c3");
  assert.deepEqual(stream.problems, []);
  assert.deepEqual(codeTexts(section(blocksOf(stream), "Output text")), ["Bonjour!"]);
  assert.deepEqual(JSON.parse(codeTexts(section(blocksOf(stream), "Other fields"))[0]), {
    moderation: { flagged: false },
  });
});

Deno.test("corpus: Gemini snake_case request and tool-use prompt tokens", async () => {
  const [x] = await exchanges("gemini_snake_case_grounding");
  const request = x.request.blocks;
  const text = JSON.stringify(request);
  assert.match(text, /You are a travel assistant\./);
  assert.match(text, /book_table/);
  assert.match(text, /functionCall|function call/i);
  assert.match(text, /party_size/, "data keys are kept as written");
  assert.doesNotMatch(text, /partySize/);
  assert.deepEqual(usageOf(x), {
    input: 1460,
    output: 124,
    total: 1584,
    reasoning: 96,
    toolPrompt: 1150,
  });
  assert.deepEqual(headings(blocksOf(x)).slice(0, 3), ["Thoughts", "Output text", "Citations (1)"]);
  // Google Search grounding: the supported segment and its web source.
  assert.deepEqual(tableRows(section(blocksOf(x), "Citations (1)")), [[
    "1",
    "grounding_support",
    "Tomorrow in Lisbon: sunny",
    "ipma.pt: https://vertexaisearch.cloud.google.com/grounding-api-redirect/AbF9",
  ]]);
});

Deno.test("corpus: Gemini safety blocks are problems", async () => {
  const [prompt, candidate] = await exchanges("gemini_safety_blocks");
  assert.ok(prompt.problems.includes("prompt blocked: SAFETY"), prompt.problems.join("; "));
  assert.ok(candidate.problems.some((p) => p.startsWith("finish reason SAFETY")));
  assert.deepEqual(tableRows(section(blocksOf(candidate), "Safety ratings"))[0], [
    "HARM_CATEGORY_HARASSMENT",
    "MEDIUM",
    "yes",
  ]);
});

Deno.test("corpus: Vertex AI Gemini stream and Claude rawPredict", async () => {
  const [gemini, claude] = await exchanges("vertex_gemini_and_claude");
  assert.equal(gemini.doc.renderer, "gemini");
  assert.deepEqual(gemini.problems, []);
  assert.deepEqual(headings(blocksOf(gemini)).slice(0, 3), [
    "Thoughts",
    "Function calls",
    "Output text",
  ]);
  assert.deepEqual(usageOf(gemini), {
    input: 4200,
    output: 100,
    total: 4300,
    cached: 2048,
    reasoning: 60,
  });
  assert.equal(
    fieldMap(blocksOf(gemini))["Usage fields"],
    'trafficType: ON_DEMAND, promptTokensDetails: [{"modality":"TEXT","tokenCount":4200}], ' +
      'cacheTokensDetails: [{"modality":"TEXT","tokenCount":2048}], ' +
      'candidatesTokensDetails: [{"modality":"TEXT","tokenCount":40}]',
  );
  assert.equal(claude.doc.renderer, "anthropic_messages");
  assert.deepEqual(claude.problems, []);
  assert.equal(claude.response?.model, "claude-sonnet-4-5-20250929");
  assert.deepEqual(usageOf(claude), { input: 40, output: 6, total: 46 });
});

Deno.test("corpus: Anthropic web fetch (no fee) and a refusal", async () => {
  const [fetch, refusal] = await exchanges("anthropic_web_fetch_refusal");
  assert.deepEqual(fetch.problems, []);
  assert.deepEqual(headings(blocksOf(fetch)), ["Tool calls", "Tool results", "Output text"]);
  assert.match(codeTexts(section(blocksOf(fetch), "Tool results"))[0], /v2\.1: faster sync/);
  assert.deepEqual(usageOf(fetch).serverTools, { web_fetch_requests: 1 });
  // Web fetch has no per-request fee: tokens only ($5 / $25 per million for Opus 4.5).
  assert.equal(
    fieldMap(fetch.doc.blocks)["Est. cost"],
    `$${((2400 * 5 + 60 * 25) / 1e6).toFixed(2)}`,
  );
  assert.deepEqual(refusal.problems, ["stop reason: refusal"]);
});

Deno.test("corpus: Gemini code execution parts in produced order", async () => {
  const [x] = await exchanges("gemini_code_execution");
  const blocks = blocksOf(x);
  assert.deepEqual(x.problems, []);
  assert.deepEqual(headings(blocks).slice(0, 3), ["Output text", "Other parts", "Output text"]);
  assert.deepEqual(section(blocks, "Other parts"), [{
    kind: "list",
    items: [
      "executableCode: [PYTHON] print(sum(range(101)))",
      "codeExecutionResult: [OUTCOME_OK] 5050",
    ],
  }]);
  assert.deepEqual(usageOf(x), { input: 180, output: 45, total: 225, toolPrompt: 60 });
});

/** The Markdown report and the JSON model of one corpus file. */
async function reportAndModel(name: string): Promise<{ md: string; model: AnalysisModel }> {
  const dir = await Deno.makeTempDir();
  try {
    const common = {
      input: new URL(`${name}.jsonl`, DIR).pathname,
      target: PROBE_TARGET,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
    };
    await analyzeFile({ ...common, output: `${dir}/r.md` });
    await analyzeFile({ ...common, output: `${dir}/m.json`, json: true });
    return {
      md: await Deno.readTextFile(`${dir}/r.md`),
      model: JSON.parse(await Deno.readTextFile(`${dir}/m.json`)),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The rows of the Markdown table under `## title`, split into cells. */
function mdRows(md: string, title: string): string[][] {
  const body = md.split(`\n## ${title}\n`)[1].split("\n## ")[0];
  return body.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| ---"))
    .slice(1).map((l) => l.slice(2, -2).split(" | "));
}

Deno.test("corpus: sub-calls are counted apart from a conversation's own tokens, and add up", async () => {
  const { md, model } = await reportAndModel("anthropic_compaction_advisor");
  const total = mdRows(md, "Token Usage").find((r) => r[0] === "Total")!;
  assert.equal(total[3], "207200");
  const convs = mdRows(md, "Conversations");
  assert.deepEqual(convs.map((r) => r.slice(5)), [
    ["23000", "1000", "180000 in, 3500 out", "0%", "$0.68"],
    ["1800", "240", "2400 in, 310 out", "0%", "$0.03"],
  ]);
  assert.match(md, /Sub-calls are the compaction and advisor calls billed with them/);
  const s = model.sessions[0];
  assert.equal(s.tokens.input + s.subCalls.input, 207200);
  assert.equal(s.tokens.output + s.subCalls.output, Number(total[6]));
  assert.deepEqual(s.conversations.map((c) => c.subCalls.input), [180000, 2400]);
  // The turn's own tokens are what its cache diagnosis reads.
  assert.deepEqual(s.turns.map((t) => [t.tokens?.input, t.subCalls?.input]), [
    [23000, 180000],
    [1800, 2400],
  ]);
  // 23,000 reported tokens for 77 bytes: compaction, not a calibration of what was sent.
  const [composition] = mdRows(md, "Context Composition");
  assert.equal(composition[6], "19 (77 B)");
  assert.equal(composition[7], "no: reported ×1194.805 the estimate (see below)");
  assert.match(md, /A reported input more than ×10 the estimate counts context the request did/);
  assert.equal(s.turns[0].context.calibrated, false);
});

Deno.test("corpus: a conversation without a price says so, as Token Usage does", async () => {
  const { md } = await reportAndModel("openai_chat_provider_extras");
  const row = mdRows(md, "Conversations").find((r) => r[3].startsWith("gpt-4o-search-preview"))!;
  assert.equal(row.at(-1), "no price");
  assert.equal(mdRows(md, "Conversations").filter((r) => r.at(-1) === "").length, 0);
});

Deno.test("corpus: the HTML report's conversation cost matches the token table's", async () => {
  const { htmlWriter } = await import("../lib/html.ts");
  const dir = await Deno.makeTempDir();
  try {
    await analyzeFile({
      input: new URL("anthropic_web_search_citations.jsonl", DIR).pathname,
      output: `${dir}/r.html`,
      target: PROBE_TARGET,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
      writer: htmlWriter,
    });
    // $0.0321 of tokens and $0.01 for the web search: $0.04 everywhere, never $0.03.
    const amounts = new Set((await Deno.readTextFile(`${dir}/r.html`)).match(/\$0\.\d+/g));
    assert.deepEqual([...amounts], ["$0.04"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
