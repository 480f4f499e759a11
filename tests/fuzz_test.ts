/**
 * Seeded, bounded fuzzing of everything that reads capture data: the SSE parser, the JSONL
 * reader, format detection, every renderer and the whole analysis. Inputs are mutations of
 * real fixtures plus random and hostile shapes (truncation, wrong types, huge strings, deep
 * nesting, invalid UTF-8, a 50 MB line). Nothing may throw (other than the documented
 * InputError) or hang, and a huge body must not blow up the report. (Analyze's memory on
 * large captures is measured by `deno task bench`.) Inputs that once failed are kept in
 * testdata/fuzz/ and replayed first.
 */
import assert from "node:assert/strict";
import { analyzeFile, responseView } from "../lib/analyze.ts";
import { detectRenderer } from "../lib/detect.ts";
import { InputError } from "../lib/errors.ts";
import { entryProblem, readEntries } from "../lib/jsonl.ts";
import { parseSse, SseDecoderStream } from "../lib/sse.ts";
import type { Entry } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { rng } from "./tools/data.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const SEED = Number(Deno.env.get("PROBE_FUZZ_SEED") ?? 20261125);
const ROUNDS = Number(Deno.env.get("PROBE_FUZZ_ROUNDS") ?? 400);
const testdata = new URL("../testdata/", import.meta.url);

const fixtures = ["sample_traffic.jsonl", "hostile_traffic.jsonl", "html_multi_traffic.jsonl"]
  .flatMap((name) => {
    try {
      return Deno.readTextFileSync(new URL(name, testdata)).split("\n").filter((l) => l.trim());
    } catch {
      return [];
    }
  });

const SSE_SAMPLES = [
  'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"x"}\n\n',
  'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"a"}}\n\n',
  'data: {"candidates":[{"content":{"parts":[{"text":"hi"}]}}]}\r\n\r\n',
  "data: [DONE]\n\n",
  ": comment\nid: 1\nretry: 10\n\n",
];

/** Random values of every JSON type, sometimes huge or deep. */
function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 4 ? 5 : 9));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return r() < 0.1 ? Number.MAX_SAFE_INTEGER : Math.floor(r() * 1e6) - 5e5;
    case 3:
      return randomString(r);
    case 4:
      return r() < 0.5 ? "" : "x".repeat(Math.floor(r() * 100_000));
    case 5:
    case 6: {
      const out: unknown[] = [];
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) out.push(randomValue(r, depth + 1));
      return out;
    }
    default: {
      const out: Record<string, unknown> = {};
      const keys = [
        "type",
        "role",
        "content",
        "text",
        "delta",
        "input",
        "messages",
        "contents",
        "parts",
        "tools",
        "usage",
        "error",
        "output",
        "choices",
        "index",
        "id",
        "name",
        "arguments",
        "function",
        "system",
        "instructions",
        "candidates",
        "response",
        "request",
      ];
      const n = Math.floor(r() * 6);
      for (let i = 0; i < n; i++) {
        out[keys[Math.floor(r() * keys.length)]] = randomValue(r, depth + 1);
      }
      return out;
    }
  }
}

function randomString(r: () => number): string {
  const pieces = [
    "a",
    "é",
    "😀",
    "\u0000",
    "\r",
    "\n",
    "\r\n",
    "```",
    "|",
    "<script>",
    "\ud800",
    "data: ",
    "event: ",
    "\uFEFF",
    "{",
    "}",
    '"',
    "\\",
  ];
  let s = "";
  const n = Math.floor(r() * 30);
  for (let i = 0; i < n; i++) s += pieces[Math.floor(r() * pieces.length)];
  return s;
}

/** Replaces a random value inside a JSON value (in place) by a random one. */
function mutate(r: () => number, value: unknown, budget = 3): unknown {
  if (budget === 0 || value === null || typeof value !== "object") return randomValue(r);
  const keys = Object.keys(value);
  if (keys.length === 0) return randomValue(r);
  const key = keys[Math.floor(r() * keys.length)];
  const obj = value as Record<string, unknown>;
  obj[key] = r() < 0.3 ? randomValue(r) : mutate(r, obj[key], budget - 1);
  return value;
}

function deep(n: number): string {
  return "[".repeat(n) + "]".repeat(n);
}

/** Renders one entry through detection, the pipeline's response view and its renderer. */
function renderEntry(entry: Entry): void {
  const renderer = detectRenderer(builtinRenderers.values(), entry) ??
    builtinRenderers.get("generic")!;
  for (const r of [renderer, ...builtinRenderers.values()]) {
    r.renderRequest(entry.request.body, entry);
    r.requestParts?.(entry.request.body, entry);
    const view = responseView(entry);
    if (view) r.renderResponse(view, entry);
  }
}

function asEntry(value: unknown): Entry | undefined {
  return entryProblem(value) === null ? value as Entry : undefined;
}

Deno.test("fuzz: SSE parser", async (t) => {
  const r = rng(SEED);
  await t.step("mutated and random streams parse without throwing, bytes or text", async () => {
    for (let i = 0; i < ROUNDS; i++) {
      let text = "";
      const n = Math.floor(r() * 6);
      for (let j = 0; j < n; j++) text += SSE_SAMPLES[Math.floor(r() * SSE_SAMPLES.length)];
      text += randomString(r);
      if (r() < 0.3) text = text.slice(0, Math.floor(r() * text.length));
      const events = parseSse(text);
      for (const e of events) assert.equal(typeof e.data, "string");
      const bytes = new TextEncoder().encode(text);
      if (r() < 0.2 && bytes.length > 0) bytes[Math.floor(r() * bytes.length)] = 0xff;
      const cut = Math.floor(r() * bytes.length);
      const stream = ReadableStream.from([bytes.slice(0, cut), bytes.slice(cut)])
        .pipeThrough(new SseDecoderStream());
      for await (const _ of stream) { /* drain */ }
    }
  });
  await t.step("a 20 MB single event and 200k tiny events", () => {
    assert.equal(parseSse(`data: ${"x".repeat(20_000_000)}\n\n`)[0].data.length, 20_000_000);
    assert.equal(parseSse("data: a\n\n".repeat(200_000)).length, 200_000);
  });
});

Deno.test("fuzz: detection and renderers", async (t) => {
  const r = rng(SEED + 1);
  const replay = [...Deno.readDirSync(new URL("fuzz/", testdata))]
    .filter((e) => e.name.endsWith(".json"))
    .map((e) => Deno.readTextFileSync(new URL(`fuzz/${e.name}`, testdata)));
  await t.step(`replays the ${replay.length} kept inputs`, () => {
    for (const text of replay) {
      const entry = asEntry(JSON.parse(text));
      assert.ok(entry, "kept fuzz inputs are valid entries");
      renderEntry(entry);
    }
  });
  await t.step("mutated fixture entries never make a renderer throw", () => {
    assert.ok(fixtures.length > 0);
    let rendered = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const base = JSON.parse(fixtures[Math.floor(r() * fixtures.length)]);
      // Mutate inside the bodies: a mutation of the envelope just makes a malformed line.
      const side = r() < 0.5 ? base.request : base.response ?? base.request;
      side.body = mutate(r, side.body, 1 + Math.floor(r() * 5));
      const entry = asEntry(base);
      if (!entry) continue;
      rendered++;
      try {
        renderEntry(entry);
      } catch (err) {
        const kept = `fuzz/crash-${SEED}-${i}.json`;
        Deno.writeTextFileSync(new URL(kept, testdata), JSON.stringify(entry));
        throw new Error(`renderer threw (${(err as Error).message}); input kept as ${kept}`);
      }
    }
    assert.equal(rendered, ROUNDS, "every mutated body is rendered");
  });
  await t.step("random bodies of every shape, for every format's paths", () => {
    const paths = [
      "/v1/responses",
      "/v1/chat/completions",
      "/v1/messages",
      "/v1beta/models/m:streamGenerateContent",
      "/v1internal:generateContent",
      "/v1/models",
    ];
    for (let i = 0; i < ROUNDS; i++) {
      const sse = r() < 0.5;
      const entry: Entry = {
        timestamp: 1,
        request: {
          method: r() < 0.9 ? "POST" : "GET",
          url: `https://h${paths[Math.floor(r() * paths.length)]}`,
          headers: {},
          body: randomValue(r),
        },
        response: {
          status_code: r() < 0.8 ? 200 : 500,
          headers: { "content-type": sse ? "text/event-stream" : "application/json" },
          body: sse
            ? SSE_SAMPLES.map((s) => r() < 0.5 ? s : `data: ${JSON.stringify(randomValue(r))}\n\n`)
              .join("")
            : randomValue(r),
        },
      };
      renderEntry(entry);
    }
  });
});

Deno.test("fuzz: JSONL reader and whole analysis", async (t) => {
  const r = rng(SEED + 2);
  const dir = await Deno.makeTempDir({ prefix: "probe-fuzz-" });
  const analyze = (input: string) =>
    analyzeFile({
      input,
      output: `${dir}/report.md`,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
    });
  try {
    await t.step("truncated, spliced and corrupted captures", async () => {
      for (let i = 0; i < 40; i++) {
        const lines: string[] = [];
        for (let j = 0; j < 8; j++) {
          let line = fixtures[Math.floor(r() * fixtures.length)];
          if (r() < 0.3) line = line.slice(0, Math.floor(r() * line.length));
          if (r() < 0.2) line = JSON.stringify(mutate(r, JSON.parse(fixtures[0]), 3));
          lines.push(line);
        }
        let bytes = new TextEncoder().encode(lines.join(r() < 0.5 ? "\n" : "\r\n"));
        if (r() < 0.3) {
          bytes = bytes.slice();
          for (let k = 0; k < 5; k++) bytes[Math.floor(r() * bytes.length)] = 0xc3; // bad UTF-8
        }
        await Deno.writeFile(`${dir}/in.jsonl`, bytes);
        try {
          await analyze(`${dir}/in.jsonl`);
        } catch (err) {
          if (!(err instanceof InputError)) {
            await Deno.writeFile(new URL(`fuzz/capture-${SEED}-${i}.jsonl.txt`, testdata), bytes);
            throw err;
          }
        }
      }
    });
    await t.step("deep nesting in a body and in a line", async () => {
      const nested = JSON.parse(deep(5000));
      const entry = {
        timestamp: 1,
        request: {
          method: "POST",
          url: "https://h/v1/responses",
          headers: {},
          body: { input: nested },
        },
        response: { status_code: 200, headers: {}, body: { output: nested } },
      };
      await Deno.writeTextFile(
        `${dir}/deep.jsonl`,
        JSON.stringify(entry) + "\n" + deep(200_000) + "\n" + fixtures[0] + "\n",
      );
      const result = await analyze(`${dir}/deep.jsonl`);
      assert.equal(result.entries, 2);
    });
    await t.step(
      "a 50 MB single line is read and rendered, its body capped in the report",
      async () => {
        const big = {
          timestamp: 1,
          request: {
            method: "POST",
            url: "https://h/v1/responses",
            headers: {},
            body: { input: "y".repeat(50_000_000) },
          },
          response: null,
        };
        await Deno.writeTextFile(`${dir}/big.jsonl`, JSON.stringify(big) + "\n" + fixtures[0]);
        const result = await analyze(`${dir}/big.jsonl`);
        assert.equal(result.entries, 2);
        const report = await Deno.stat(`${dir}/report.md`);
        assert.ok(report.size < 1_000_000, `report ${report.size} bytes: the body must be capped`);
      },
    );
    await t.step(
      "reading entries of random bytes never throws anything but InputError",
      async () => {
        for (let i = 0; i < 30; i++) {
          const bytes = new Uint8Array(Math.floor(r() * 5000));
          for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(r() * 256);
          await Deno.writeFile(`${dir}/rand.bin`, bytes);
          try {
            for await (const _ of readEntries(`${dir}/rand.bin`, () => {})) { /* drain */ }
          } catch (err) {
            assert.ok(err instanceof InputError, String(err));
          }
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
