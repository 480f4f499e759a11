import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import { InputError } from "../lib/errors.ts";
import { builtinPriceTable, costOf, priceFor } from "../lib/prices.ts";
import { loadPriceTable, parsePriceTable } from "../lib/price_file.ts";
import { Totals } from "../lib/totals.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

Deno.test("price table", async (t) => {
  const table = builtinPriceTable();
  await t.step("the built-in table parses and has a date", () => {
    assert.match(table.date, /^\d{4}-\d{2}-\d{2}$/);
    assert.ok(Object.keys(table.models).length > 10);
  });
  await t.step("longest prefix wins; provider prefixes are ignored", () => {
    assert.equal(priceFor(table, "gpt-5-codex-2025-09-15"), table.models["gpt-5-codex"]);
    assert.equal(priceFor(table, "gpt-5-mini"), table.models["gpt-5-mini"]);
    assert.equal(priceFor(table, "openai/gpt-4.1"), table.models["gpt-4.1"]);
    assert.equal(priceFor(table, "llama-3"), undefined);
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
    const text = await Deno.readTextFile(new URL("../lib/prices.jsonc", import.meta.url));
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
        `probe: error: ${prices}: line 2: PropertyNameExpected in price table\n`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("errors name the file, the line or the key", () => {
    assert.throws(() => parsePriceTable('{\n  "date": ,\n}', "p.jsonc"), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /^p\.jsonc: line 2: /);
      return true;
    });
    assert.throws(
      () => parsePriceTable('{"date": "x", "models": {"m": {"input": "1", "output": 2}}}', "p"),
      /"models\.m\.input" must be a number/,
    );
  });
});

Deno.test("Totals", async (t) => {
  const totals = new Totals();
  totals.addUsage("gpt-5", { input: 1000, cached: 800, output: 100, reasoning: 40, total: 1100 });
  totals.addUsage("gpt-5", { input: 2000, cached: 1500, output: 50, total: 2050 });
  totals.addUsage("gpt-5", undefined);
  totals.addUsage(undefined, undefined);
  await t.step("sums per model and overall, with an estimate", () => {
    const [table, note] = totals.usageBlocks(builtinPriceTable());
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
      warn: () => {},
    });
    const report = await Deno.readTextFile(`${dir}/r.md`);
    const problems = report.slice(report.indexOf("## Problems"), report.indexOf("## Token Usage"));
    await t.step("each kind of problem is listed with its exchange", () => {
      assert.match(problems, /#1 POST \/v1\/responses: HTTP 429/);
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
