import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import { InputError } from "../lib/errors.ts";
import { costOf, exchangeCost, priceFor } from "../lib/prices.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { loadPriceTable, parsePriceTable } from "../lib/price_file.ts";
import { EXACT_LATENCIES, LatencySeries, Totals } from "../lib/totals.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("price table", async (t) => {
  const table = builtinPriceTable();
  await t.step("the built-in table parses and has a date", () => {
    assert.match(table.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(Object.keys(table.models).length > 10);
  });
  await t.step("exact ids, aliases and dated snapshots; provider wrappings ignored", () => {
    assert.equal(priceFor(table, "gpt-5-codex-2025-09-15"), table.models["gpt-5-codex"]);
    assert.equal(priceFor(table, "gpt-5-mini"), table.models["gpt-5-mini"]);
    assert.equal(priceFor(table, "openai/gpt-4.1"), table.models["gpt-4.1"]);
    assert.equal(priceFor(table, "claude-sonnet-4-5-20250929"), table.models["claude-sonnet-4-5"]);
    assert.equal(priceFor(table, "claude-opus-4-1@20250805"), table.models["claude-opus-4-1"]);
    assert.equal(
      priceFor(table, "us.anthropic.claude-sonnet-4-20250514-v1:0"),
      table.models["claude-sonnet-4"],
    );
    assert.equal(
      priceFor(table, "anthropic.claude-3-haiku-20240307-v1:0"),
      table.models["claude-3-haiku"],
    );
    assert.equal(priceFor(table, "models/gemini-2.5-pro"), table.models["gemini-2.5-pro"]);
    assert.equal(priceFor(table, "claude-opus-4-0"), table.models["claude-opus-4"]);
    assert.equal(priceFor(table, "gemini-3-pro"), table.models["gemini-3-pro-preview"]);
    assert.equal(priceFor(table, "llama-3"), undefined);
  });
  await t.step("a table keyed by a catalogue id prices it before the bare id", () => {
    const own = { ...table, models: { "meta.llama-9": { input: 1, output: 2 } } };
    assert.equal(priceFor(own, "meta.llama-9")?.input, 1);
    assert.equal(priceFor(own, "us.meta.llama-9-v1:0"), undefined);
    assert.equal(priceFor(own, "llama-9"), undefined);
  });
  await t.step("a newer model is never priced as an older one by prefix", () => {
    assert.notEqual(priceFor(table, "claude-opus-4-6"), table.models["claude-opus-4"]);
    assert.equal(priceFor(table, "claude-opus-4-6")?.input, 5);
    assert.equal(priceFor(table, "gpt-5.2")?.input, 1.75);
    assert.equal(priceFor(table, "gpt-5.9"), undefined);
    assert.equal(priceFor(table, "gpt-5-codex-max"), undefined);
    assert.equal(priceFor(table, "claude-opus-4-9"), undefined);
    assert.equal(priceFor(table, "gemini-2.5-pro-experimental"), undefined);
  });
  await t.step("the table is dated within three months of its sources", () => {
    // A stale table is the failure this guards: the date must move when prices are checked.
    const age = (Date.parse("2026-12-04") - Date.parse(table.date)) / 86_400_000;
    assert.ok(age >= 0 && age <= 92, `built-in table dated ${table.date}`);
  });
  await t.step("long-context tiers price every token of a long request", () => {
    const sonnet = table.models["claude-sonnet-4-5"];
    const short = costOf({ input: 200_000, output: 1000, total: 0 }, sonnet);
    const long = costOf({ input: 200_001, output: 1000, total: 0 }, sonnet);
    assert.equal(short.toFixed(6), ((200_000 * 3 + 1000 * 15) / 1e6).toFixed(6));
    assert.equal(long.toFixed(6), ((200_001 * 6 + 1000 * 22.5) / 1e6).toFixed(6));
    const gpt = table.models["gpt-5.4"];
    assert.equal(
      costOf({ input: 300_000, cached: 100_000, output: 10, total: 0 }, gpt).toFixed(6),
      ((200_000 * 5 + 100_000 * 0.5 + 10 * 22.5) / 1e6).toFixed(6),
    );
  });
  await t.step("5-minute and 1-hour cache writes at their own prices", () => {
    const cost = costOf(
      { input: 1_000_000, cacheWrite: 1_000_000, cacheWrite1h: 400_000, output: 0, total: 0 },
      table.models["claude-opus-4-6"],
    );
    assert.equal(cost.toFixed(6), (0.6 * 6.25 + 0.4 * 10).toFixed(6));
  });
  await t.step("an exchange: sub-calls by their model, server tools per request", () => {
    const cost = exchangeCost(table, "claude-sonnet-4-6", {
      input: 1000,
      output: 100,
      total: 1100,
      serverTools: { web_search_requests: 3, web_fetch_requests: 2, mystery_requests: 1 },
      subCalls: [
        { kind: "compaction", usage: { input: 10_000, output: 500, total: 10_500 } },
        {
          kind: "advisor_message",
          model: "claude-opus-4-6",
          usage: { input: 2000, output: 200, total: 2200 },
        },
      ],
    });
    const sonnet = (1000 * 3 + 100 * 15 + 10_000 * 3 + 500 * 15) / 1e6 + 3 * 0.01;
    const opus = (2000 * 5 + 200 * 25) / 1e6;
    assert.equal(cost.byModel.get("claude-sonnet-4-6")?.toFixed(6), sonnet.toFixed(6));
    assert.equal(cost.byModel.get("claude-opus-4-6")?.toFixed(6), opus.toFixed(6));
    assert.equal(cost.cost.toFixed(6), (sonnet + opus).toFixed(6));
    assert.deepEqual(cost.unpriced, ["mystery_requests"]);
    assert.deepEqual(exchangeCost(table, "brand-new-model", { input: 1, output: 1, total: 2 }), {
      cost: 0,
      byModel: new Map(),
      unpriced: ["brand-new-model"],
    });
  });
  await t.step("probe prices prints the table with its date; --prices FILE overrides", async () => {
    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "prices", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, text: new TextDecoder().decode(out.stdout) };
    };
    const builtin = await run();
    assert.equal(builtin.code, 0);
    assert.match(builtin.text, new RegExp(`^Price table: built-in, checked ${table.date}\n`));
    assert.match(builtin.text, /^claude-opus-4-6 +5 +0\.5 +6\.25 \/ 10 +25$/m);
    assert.match(builtin.text, /^claude-sonnet-4-5 .*above 200000 input: 6 in, 0\.6 cached/m);
    assert.match(builtin.text, /web_search_requests: 0\.01/);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(
        `${dir}/p.jsonc`,
        '{"date": "2026-11-30", "models": {"m": {"input": 1, "output": 2}}}',
      );
      const mine = await run("--prices", `${dir}/p.jsonc`);
      assert.equal(mine.code, 0);
      assert.match(mine.text, new RegExp(`^Price table: ${dir}/p.jsonc, checked 2026-11-30`));
      assert.match(mine.text, /^m +1 +- +- +2$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("costOf prices fresh, cached and written input separately", () => {
    const cost = costOf(
      { input: 1_000_000, cached: 400_000, cacheWrite: 100_000, output: 10_000, total: 0 },
      { input: 3, cached_input: 0.3, cache_write: 3.75, output: 15 },
    );
    // 500k fresh × 3 + 400k × 0.3 + 100k × 3.75 + 10k × 15, per million
    assert.equal(cost.toFixed(6), (1.5 + 0.12 + 0.375 + 0.15).toFixed(6));
  });
  await t.step("the built-in table reads the same as through the JSONC parser", async () => {
    const text = await Deno.readTextFile(new URL("../renderers/prices.jsonc", import.meta.url));
    const viaJsonc = parsePriceTable(text, "built-in price table");
    assert.deepEqual(table, { ...viaJsonc, builtin: true });
  });
  await t.step("a user's file: comments and trailing commas, and clear errors", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/p.jsonc`;
      await Deno.writeTextFile(
        path,
        '// mine\n{ "date": "2026-01-01", "models": { "m": { "input": 1, "output": 2, }, }, }\n',
      );
      const mine = await loadPriceTable(path);
      assert.deepEqual(mine, {
        date: "2026-01-01",
        currency: "USD",
        models: { m: { input: 1, output: 2 } },
        source: path,
      });
      await assert.rejects(
        loadPriceTable(`${dir}/missing.jsonc`),
        (e: unknown) =>
          e instanceof InputError &&
          e.message.startsWith(`${dir}/missing.jsonc: cannot read price table: `) &&
          !e.message.includes("\n"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("probe analyze --prices FILE uses it; a broken one is one error line", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const prices = `${dir}/prices.jsonc`;
      const sample = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;
      const run = (file: string) =>
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", MAIN, "analyze", "-t", "codex", "-i", sample, "-o", `${dir}/r.md`]
            .concat(["--prices", file]),
          stdout: "piped",
          stderr: "piped",
        }).output();
      await Deno.writeTextFile(prices, '{"date": "2030-01-01", "models": {}} // none priced');
      const ok = await run(prices);
      assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
      const report = await Deno.readTextFile(`${dir}/r.md`);
      assert.ok(
        report.includes(`an estimate from the price table ${prices} dated 2030-01-01`),
        report,
      );
      await Deno.writeTextFile(prices, '{"date": "2030-01-01",\n "models": {]}');
      const bad = await run(prices);
      assert.equal(bad.code, 1);
      assert.equal(
        new TextDecoder().decode(bad.stderr),
        `probe: error: ${prices}: syntax error at 2:13: property name expected (in the price ` +
          "table)\n",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("errors name the file, the line or the key", () => {
    assert.throws(() => parsePriceTable('{\n  "date": ,\n}', "p.jsonc"), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^p\.jsonc: syntax error at 2:11: value expected/);
      return true;
    });
    assert.throws(
      () =>
        parsePriceTable(
          '{"date": "2030-01-01", "models": {"m": {"input": "1", "output": 2}}}',
          "p",
        ),
      /"models\.m\.input" must be a number/,
    );
  });
});

Deno.test("Totals", async (t) => {
  const totals = new Totals(builtinPriceTable());
  totals.addUsage("gpt-5", { input: 1000, cached: 800, output: 100, reasoning: 40, total: 1100 });
  totals.addUsage("gpt-5", { input: 2000, cached: 1500, output: 50, total: 2050 });
  totals.addUsage("gpt-5", undefined);
  totals.addUsage(undefined, undefined);
  await t.step("sums per model and overall, with an estimate", () => {
    const [table, note] = totals.usageBlocks();
    assert.equal(table.kind, "table");
    if (table.kind !== "table") return;
    // Input, cached, cache write, output, reasoning: only gpt-5 reported usage, so its sums
    // are also the totals.
    const sums = ["3000", "2300", "0", "150", "40"];
    assert.deepEqual(table.rows[0].slice(0, 8), ["gpt-5", "3", "2", ...sums]);
    // 700 fresh × 1.25 + 2300 × 0.125 + 150 × 10 per million = 0.0026625
    assert.equal(table.rows[0][8], "$0.0027");
    assert.deepEqual(table.rows[1].slice(0, 3), ["(unknown model)", "1", "0"]);
    assert.deepEqual(table.rows[2].slice(0, 8), ["Total", "4", "2", ...sums]);
    assert.equal(note.kind, "paragraph");
    if (note.kind === "paragraph") assert.match(note.text, /estimate .* dated \d{4}-\d{2}-\d{2}/);
  });
  await t.step("latency median and max per endpoint", () => {
    const entry = (start: number, first: number, end: number) => ({
      timestamp: start,
      request: { method: "POST", url: "u", headers: {}, body: null },
      response: null,
      timing: { start, first_byte: first, end },
    });
    totals.addTiming("/a", entry(0, 0.1, 1));
    totals.addTiming("/a", entry(0, 0.3, 2));
    totals.addTiming("/a", entry(0, 0.2, 4));
    assert.deepEqual(totals.latencyCells("/a"), ["200 ms", "300 ms", "2000 ms", "4000 ms"]);
    assert.deepEqual(totals.latencyCells("/b"), ["", "", "", ""]);
  });
});

/** A `POST /v1/responses` exchange at `timestamp`, with the rest of its entry. */
const exchange = (timestamp: number, rest: Record<string, unknown>) => ({
  timestamp,
  request: {
    method: "POST",
    url: "https://x/v1/responses",
    headers: {},
    body: { model: "gpt-5", input: "hi" },
  },
  ...rest,
});

const problemCapture = [
  // HTTP error with an API error body
  exchange(1, {
    response: {
      status_code: 429,
      headers: { "content-type": "application/json" },
      body: { error: { message: "Rate limit", type: "rate_limit", code: "rate_limited" } },
    },
  }),
  // A stream cut off before response.completed
  exchange(2, {
    response: {
      status_code: 200,
      headers: { "content-type": "text/event-stream" },
      body: 'event: response.created\ndata: {"type":"response.created","response":{"id":"r"}}\n\n' +
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hel',
    },
  }),
  // Upstream refused; still recorded
  exchange(3, { response: null, error: "Connection refused" }),
  // In flight at shutdown
  exchange(4, { response: null, incomplete: true }),
].map((e) => JSON.stringify(e)).join("\n") + "\n{broken\n";

Deno.test("problems come first", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/p.jsonl`;
    await Deno.writeTextFile(input, problemCapture);
    const result = await analyzeFile({
      input,
      output: `${dir}/r.md`,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
    });
    const report = await Deno.readTextFile(`${dir}/r.md`);
    const problems = report.slice(report.indexOf("## Problems"), report.indexOf("## Token Usage"));
    await t.step("each kind of problem is listed with its exchange", () => {
      // One failed exchange is one problem: the API error names the status.
      assert.doesNotMatch(problems, /#1 POST \/v1\/responses: HTTP 429/);
      assert.match(problems, /#1 POST \/v1\/responses: API error 429: .*Rate limit/);
      assert.match(problems, /#2 POST \/v1\/responses: stream truncated/);
      assert.match(problems, /#3 POST \/v1\/responses: failed: Connection refused/);
      assert.match(problems, /#4 POST \/v1\/responses: incomplete/);
      assert.match(problems, /line 5: malformed line skipped/);
      assert.ok(result.problems >= 6);
    });
    await t.step("the Problems section precedes everything else", () => {
      assert.ok(report.indexOf("## Problems") < report.indexOf("## Endpoints"));
    });
    await t.step("--strict exits 3 when there are problems, 0 when there are none", async () => {
      const run = (file: string) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            MAIN,
            "analyze",
            "-t",
            "codex",
            "-i",
            file,
            "-o",
            `${dir}/s.md`,
            "--strict",
          ],
          stdout: "null",
          stderr: "piped",
        }).output();
      const bad = await run(input);
      assert.equal(bad.code, 3);
      assert.match(new TextDecoder().decode(bad.stderr), /problems found \(--strict\)/);
      const good = await run(new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname);
      assert.equal(good.code, 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Totals: sub-calls per model, server tools, per-exchange tiers", () => {
  const totals = new Totals(builtinPriceTable());
  totals.addUsage("claude-sonnet-4-5", {
    input: 250_000,
    output: 1000,
    total: 251_000,
    serverTools: { web_search_requests: 2 },
    subCalls: [{
      kind: "advisor_message",
      model: "claude-opus-4-6",
      usage: { input: 1000, output: 100, total: 1100 },
    }],
  });
  totals.addUsage("claude-sonnet-4-5", { input: 1000, output: 10, total: 1010 });
  totals.addUsage("mystery-model", { input: 5, output: 5, total: 10 });
  const [table] = totals.usageBlocks();
  assert.equal(table.kind, "table");
  if (table.kind !== "table") return;
  assert.deepEqual(table.header.slice(-2), ["Server tool requests", "Est. cost (USD)"]);
  const byModel = Object.fromEntries(table.rows.map((r) => [r[0], r]));
  // The first request is above 200K input: long-context rates; the second is not.
  const sonnet = (250_000 * 6 + 1000 * 22.5 + 1000 * 3 + 10 * 15) / 1e6 + 2 * 0.01;
  assert.deepEqual(byModel["claude-sonnet-4-5"], [
    "claude-sonnet-4-5",
    "2",
    "2",
    "251000",
    "0",
    "0",
    "1010",
    "0",
    "web_search 2",
    `$${sonnet.toFixed(2)}`,
  ]);
  assert.deepEqual(byModel["claude-opus-4-6"].slice(1, 4), ["0", "0", "1000"]);
  assert.equal(byModel["mystery-model"].at(-1), "no price");
  assert.match(byModel.Total.at(-1)!, /\(some unpriced\)$/);
});

Deno.test("Totals: a capture whose models the table knows none of costs no price", () => {
  const totals = new Totals(builtinPriceTable());
  totals.addUsage("mystery-model", { input: 5, output: 5, total: 10 });
  totals.addUsage("another-unlisted-model", { input: 7, output: 1, total: 8 });
  const [table] = totals.usageBlocks();
  assert.equal(table.kind, "table");
  if (table.kind !== "table") return;
  // Was "$0.00 (some unpriced)": a price where there is none.
  assert.deepEqual(table.rows.map((r) => [r[0], r.at(-1)]), [
    ["mystery-model", "no price"],
    ["another-unlisted-model", "no price"],
    ["Total", "no price"],
  ]);
});

Deno.test("latency median and max stay exact, then bounded, for any number of exchanges", async (t) => {
  const exactMedian = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  };
  // Deterministic, spread values with fractions (a recorder's timings are in seconds).
  const values = (n: number, seed: number) =>
    Array.from({ length: n }, (_, i) => ((i * 7919 + seed * 104729) % 100003) / 37.3);
  await t.step("up to EXACT_LATENCIES values: the exact median, an even count averaged", () => {
    for (const n of [1, 2, 3, 10, EXACT_LATENCIES]) {
      const xs = values(n, n);
      const s = new LatencySeries();
      xs.forEach((x) => s.add(x));
      assert.deepEqual(s.cells(), [
        `${Math.round(exactMedian(xs))} ms`,
        `${Math.round(Math.max(...xs))} ms`,
      ]);
    }
    assert.deepEqual(new LatencySeries().cells(), ["", ""]);
  });
  await t.step("beyond: the median of the values to the ms, the exact max", () => {
    for (const n of [EXACT_LATENCIES + 1, EXACT_LATENCIES + 2, 3 * EXACT_LATENCIES + 7]) {
      const xs = values(n, 3);
      const s = new LatencySeries();
      xs.forEach((x) => s.add(x));
      const [median, max] = s.cells();
      assert.equal(median, `${Math.round(exactMedian(xs.map(Math.round)))} ms`);
      assert.equal(max, `${Math.round(Math.max(...xs))} ms`);
      assert.ok(Math.abs(Number.parseInt(median) - exactMedian(xs)) <= 1);
    }
  });
  await t.step("many equal values and a few outliers", () => {
    const s = new LatencySeries();
    for (let i = 0; i < 3 * EXACT_LATENCIES; i++) s.add(i % 100 === 0 ? 9000.4 : 120.2);
    assert.deepEqual(s.cells(), ["120 ms", "9000 ms"]);
  });
});
