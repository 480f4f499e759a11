/**
 * `probe analyze` and `probe export --har` read as a demanding user and an attacker would: each
 * step is a capture shape that once broke a report or misstated it (written in the test, so the
 * shape is plain to see), run through every output the way the CLI runs it.
 */
import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import { UsageError } from "../lib/errors.ts";
import { exportHar } from "../lib/export.ts";
import { htmlWriter } from "../lib/html.ts";
import type { Entry, Renderer } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { builtinTargets } from "../targets/mod.ts";

/** What each output of `entries` says: Markdown, HTML, the JSON model and the HAR text. */
interface Outputs {
  markdown: string;
  html: string;
  json: string;
  har: string;
  problems: number;
  warnings: string[];
}

async function outputs(
  entries: (Entry | string)[],
  renderers: ReadonlyMap<string, Renderer> = builtinRenderers,
): Promise<Outputs> {
  const dir = await Deno.makeTempDir({ prefix: "probe-hostile-" });
  try {
    const input = `${dir}/capture.jsonl`;
    const lines = entries.map((e) => (typeof e === "string" ? e : JSON.stringify(e)));
    await Deno.writeTextFile(input, lines.join("\n") + "\n");
    const warnings: string[] = [];
    const common = {
      input,
      targets: builtinTargets,
      renderers,
      prices: builtinPriceTable(),
      warn: (line: string) => warnings.push(line),
    };
    const md = await analyzeFile({ ...common, output: `${dir}/r.md` });
    await analyzeFile({ ...common, output: `${dir}/r.html`, writer: htmlWriter });
    await analyzeFile({ ...common, output: `${dir}/r.json`, json: true });
    await exportHar({ input, output: `${dir}/r.har`, redactHeaders: [], warn: () => {} });
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    return {
      markdown: await read("r.md"),
      html: await read("r.html"),
      json: await read("r.json"),
      har: await read("r.har"),
      problems: md.problems,
      warnings,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CHAT = "https://api.openai.com/v1/chat/completions";

Deno.test("hostile captures: every output is written", async (t) => {
  await t.step("JSON nested 20,000 levels deep in a body and in its usage", async () => {
    const n = 20_000;
    const arrays = "[".repeat(n) + "]".repeat(n);
    const objects = '{"a":'.repeat(n) + "{}" + "}".repeat(n);
    const line = `{"timestamp":1770000000,"request":{"method":"POST","url":"${CHAT}",` +
      `"headers":{"content-type":"application/json"},"body":{"model":"gpt-4.1",` +
      `"messages":[{"role":"user","content":${arrays}}],"extra":${objects}}},` +
      `"response":{"status_code":200,"headers":{"content-type":"application/json"},` +
      `"body":{"choices":[{"message":{"role":"assistant","content":${objects}}}],` +
      `"usage":${objects}}}}`;
    const out = await outputs([line]);
    assert.match(out.markdown, /## Token Usage/);
    assert.ok(!out.markdown.includes("renderer failed"), "the renderer read it");
    assert.match(out.html, /<\/html>\n$/);
    assert.equal(JSON.parse(out.json).sessions.length, 1);
    assert.equal(JSON.parse(out.har).log.entries.length, 1);
  });

  await t.step("a renderer that throws on a body too deep to print", async () => {
    // The report shows the body raw when its renderer throws; that fallback must hold too.
    const thrower: Renderer = {
      id: "thrower",
      name: "Throwing API",
      detect: () => 100,
      renderRequest: () => {
        throw new Error("unexpected body");
      },
      renderResponse: () => ({ blocks: [] }),
    };
    const n = 20_000;
    const line = `{"timestamp":1770000000,"request":{"method":"POST","url":"http://h/x",` +
      `"headers":{},"body":{"deep":${"[".repeat(n) + "]".repeat(n)}}},"response":null}`;
    const out = await outputs([line], new Map([["thrower", thrower]]));
    assert.match(out.markdown, /renderer failed: unexpected body/);
    assert.match(out.markdown, /"deep": \[\n/);
    assert.equal(out.problems, 2, "the renderer's failure and the missing response");
  });

  await t.step("usage counts that are not counts, or do not add up, are problems", async () => {
    const chat = (usage: unknown, ts: number): Entry => ({
      timestamp: ts,
      request: {
        method: "POST",
        url: CHAT,
        headers: {},
        body: { model: "gpt-4.1", messages: [{ role: "user", content: `q${ts}` }] },
      },
      response: {
        status_code: 200,
        headers: { "content-type": "application/json" },
        body: {
          model: "gpt-4.1",
          choices: [{ index: 0, message: { role: "assistant", content: "a" } }],
          usage,
        },
      },
    });
    const out = await outputs([
      chat({ prompt_tokens: 1e308, completion_tokens: 1e308 }, 1),
      chat({ prompt_tokens: 10, completion_tokens: -5 }, 2),
      chat({ prompt_tokens: 10.5, completion_tokens: 5 }, 3),
      chat({
        prompt_tokens: 10,
        completion_tokens: 5,
        prompt_tokens_details: { cached_tokens: 50 },
        completion_tokens_details: { reasoning_tokens: 9 },
      }, 4),
      chat({ prompt_tokens: 100, completion_tokens: 20 }, 5),
    ]);
    const problems = out.markdown.split("## Token Usage")[0];
    assert.match(
      problems,
      /#1 .*usage not counted: input 1e\+308, output 1e\+308, total Infinity are not token/,
    );
    assert.match(problems, /#2 .*usage not counted: output -5 is not a token count/);
    assert.match(problems, /#3 .*usage not counted: input 10\.5, total 15\.5 are not token counts/);
    assert.match(
      problems,
      /#4 .*usage does not add up: cached 50 > input 10; reasoning 9 > output 5/,
    );
    // Counted: #4 as the API said it, and #5.
    assert.match(out.markdown, /\| gpt-4\.1 \| 5 \| 2 \| 110 \| 50 \| 0 \| 25 \| 9 \| \$0\.\d+ \|/);
    const summary = out.markdown.split("## Token Usage")[1].split("## Full Conversation Log")[0];
    const costs = out.markdown.split("\n").filter((l) => l.includes("Est. cost"));
    for (
      const text of [summary, ...costs, out.html.split("<h2>Token Usage</h2>")[1].split("<h2>")[0]]
    ) {
      assert.ok(!/Infinity|NaN|\$-|-5/.test(text), text);
    }
    const model = JSON.parse(out.json);
    assert.ok(!/Infinity|null|-5/.test(JSON.stringify(model.sessions[0].totals)));
  });

  await t.step(
    "secret fields inside JSON text: tool arguments, tool output, pasted config",
    async () => {
      const config = '{"OPENAI_API_KEY": "PLANTED-1", "db": {"password" : "PLANTED-2"}}';
      const entry: Entry = {
        timestamp: 1770000000,
        request: {
          method: "POST",
          url: "https://api.openai.com/v1/responses",
          headers: { "content-type": "application/json" },
          body: {
            model: "gpt-5",
            input: [
              { role: "user", content: `my config is ${config}` },
              {
                type: "function_call",
                call_id: "c1",
                name: "login",
                arguments: '{"user": "me", "apiKey": "PLANTED-3"}',
              },
              { type: "function_call_output", call_id: "c1", output: config },
            ],
          },
        },
        response: {
          status_code: 200,
          headers: { "content-type": "application/json" },
          body: {
            model: "gpt-5",
            status: "completed",
            output: [{
              type: "function_call",
              call_id: "c2",
              name: "deploy",
              arguments: '{"access_token":"PLANTED-4"}',
            }],
            usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
          },
        },
      };
      const out = await outputs([entry]);
      for (const [name, text] of Object.entries(out)) {
        if (typeof text !== "string") continue;
        assert.ok(!text.includes("PLANTED"), `${name}: ${text.match(/.{0,80}PLANTED.{0,20}/)}`);
      }
      assert.match(out.markdown, /OPENAI_API_KEY/);
    },
  );

  await t.step(
    "a model with no usage reported costs no known $0.00; a lost answer is a problem",
    async () => {
      const request = (ts: number) => ({
        method: "POST",
        url: CHAT,
        headers: {},
        body: { model: "gpt-4.1", stream: true, messages: [{ role: "user", content: `q${ts}` }] },
      });
      const out = await outputs([
        // A stream cut before its usage chunk (billed, but the capture cannot say how much).
        {
          timestamp: 1,
          request: request(1),
          response: {
            status_code: 200,
            headers: { "content-type": "text/event-stream" },
            body: 'data: {"choices":[{"index":0,"delta":{"content":"par',
          },
        },
        // Recorded without a response, an error or the in-flight mark (a HAR or a hand edit).
        { timestamp: 2, request: request(2), response: null },
      ]);
      assert.match(out.markdown, /\| gpt-4\.1 \| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| no usage \|/);
      assert.match(out.markdown, /\| Total \| 2 \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \| no usage \|/);
      assert.match(out.markdown, /- \\#2 POST \/v1\/chat\/completions: no response recorded/);
    },
  );
});

Deno.test("one failed exchange is one problem, also when the connection broke", async () => {
  const out = await outputs([{
    timestamp: 1,
    request: {
      method: "POST",
      url: "https://api.openai.com/v1/responses",
      headers: {},
      body: { model: "gpt-5", input: "hi" },
    },
    response: {
      status_code: 502,
      headers: { "content-type": "application/json" },
      body: { error: { message: "upstream reset", type: "server_error" } },
    },
    error: "connection reset by upstream",
  }]);
  const problems = out.markdown.split("## Problems")[1].split("## ")[0].trim().split("\n");
  assert.deepEqual(problems, [
    "- \\#1 POST /v1/responses: failed: connection reset by upstream " +
    "(API error 502: upstream reset)",
  ]);
  assert.equal(out.problems, 1);
});

Deno.test("a report or HAR written over its own capture is refused, the capture kept", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-same-" });
  try {
    const capture = `${dir}/traffic.jsonl`;
    const text = await Deno.readTextFile(
      new URL("../testdata/sample_traffic.jsonl", import.meta.url),
    );
    await Deno.writeTextFile(capture, text);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.link(capture, `${dir}/hard.jsonl`);
    const common = {
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
    };
    for (const output of [capture, `${dir}/sub/../traffic.jsonl`, `${dir}/hard.jsonl`]) {
      await t.step(`analyze -o ${output.slice(dir.length)}`, async () => {
        await assert.rejects(
          () => analyzeFile({ ...common, input: capture, output }),
          (e: unknown) => {
            assert.ok(e instanceof UsageError, String(e));
            assert.match(
              e.message,
              /is the input .*traffic\.jsonl; writing it would overwrite the capture/,
            );
            return true;
          },
        );
        assert.equal(await Deno.readTextFile(capture), text);
      });
    }
    await t.step("export --har over an input of several", async () => {
      const other = `${dir}/other.jsonl`;
      await Deno.writeTextFile(other, text);
      await assert.rejects(
        () =>
          exportHar({
            input: [other, capture],
            output: capture,
            redactHeaders: [],
            warn: () => {},
          }),
        UsageError,
      );
      assert.equal(await Deno.readTextFile(capture), text);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a price table of your own is checked like input", async (t) => {
  const { parsePriceTable } = await import("../lib/price_file.ts");
  const refused = (text: string, message: RegExp) => {
    assert.throws(() => parsePriceTable(text, "p.jsonc"), message);
  };
  await t.step("rates are non-negative numbers of sane size", () => {
    refused(
      '{"date": "2030-01-01", "models": {"m": {"input": -5, "output": 1}}}',
      /p\.jsonc:1: "models\.m\.input" must be a number from 0 to 1000000/,
    );
    refused(
      '{"date": "2030-01-01", "models": {"m": {"input": 1, "output": 1e308}}}',
      /"models\.m\.output" must be a number from 0 to 1000000/,
    );
    refused(
      '{"date": "2030-01-01", "models": {"m": {"input": 1, "output": 1, "cached_input": -1}}}',
      /"models\.m\.cached_input" must be a number from 0 to 1000000/,
    );
    refused(
      '{"date": "2030-01-01", "models": {}, "server_tools": {"web_search_requests": -0.01}}',
      /"server_tools\.web_search_requests" must be a number from 0 to 1000000/,
    );
  });
  await t.step("a mistake names its line, and a model id with dots stays whole", () => {
    refused(
      '{"date": "2030-01-01",\n "models": {\n  "gpt-4.1": {"input": 1, "output": -2}}}',
      /p\.jsonc:3: "models\.gpt-4\.1\.output" must be a number/,
    );
    refused(
      '{\n"date": "2030-01-01",\n"models": {},\n"aliases": {"x": "y"}}',
      /p\.jsonc:4: "aliases\.x" must be/,
    );
  });
  await t.step("the top level is an object and the date a date", () => {
    refused(" \n", /p\.jsonc: is empty: expected a price table/);
    refused("[]", /"\(top level\)" must be an object/);
    refused('{"date": "soon", "models": {}}', /"date" must be a date \(YYYY-MM-DD\)/);
    // The report prints the date: one no calendar has is refused too.
    for (const day of ["2030-13-45", "2030-02-30", "2030-00-10"]) {
      refused(`{"date": "${day}", "models": {}}`, /"date" must be a date \(YYYY-MM-DD\)/);
    }
    assert.equal(parsePriceTable('{"date": "2028-02-29", "models": {}}', "p").date, "2028-02-29");
    assert.equal(parsePriceTable('{"date": "2030-01-01", "models": {}}', "p").date, "2030-01-01");
  });
});

Deno.test("a --keep-secrets capture's form body sent to a model API is masked in every output", async () => {
  // A renderer shows a body it cannot parse as it is: masked like any body.
  const form = "grant_type=x&client_secret=PLANTED-F1&code=PLANTED-F2&password=PLANTED-F3";
  const out = await outputs([{
    timestamp: 1770000000,
    request: {
      method: "POST",
      url: CHAT,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    },
    response: { status_code: 200, headers: { "content-type": "application/json" }, body: {} },
  }]);
  for (const [name, text] of Object.entries(out)) {
    if (typeof text === "string") assert.ok(!text.includes("PLANTED"), `${name} leaks`);
  }
  assert.ok(out.markdown.includes("client_secret=[REDACTED]"));
});

Deno.test("a --keep-secrets capture's keys that stream pieces split are masked in every output", async () => {
  // A capture masks each piece where it stands; a report shows the pieces joined (a key right
  // after a word) or one by one (chunks of an array or NDJSON body, one socket frame).
  const key = (n: string) => `sk-proj-PLANTED${n}abcdefghijklmnopqrstuv`;
  const chat = (content: string) => ({
    id: "c1",
    object: "chat.completion.chunk",
    model: "gpt-4o",
    choices: [{ index: 0, delta: { content } }],
  });
  const sse = (events: unknown[]) =>
    events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n";
  const chunks = (n: string) =>
    ["s", key(n).slice(1)].map((text) => ({ candidates: [{ content: { parts: [{ text }] } }] }));
  const ndjson = (n: string) =>
    ["s", key(n).slice(1)].map((content) => JSON.stringify({ message: { content } })).join("\n");
  const request = { model: "gpt-4o", stream: true, messages: [{ role: "user", content: "hi" }] };
  const exchange = (url: string, contentType: string, body: unknown, t: number): Entry => ({
    timestamp: 1770000000 + t,
    request: {
      method: "POST",
      url,
      headers: { "content-type": "application/json" },
      body: request,
    },
    response: { status_code: 200, headers: { "content-type": contentType }, body },
  });
  const other = "http://127.0.0.1:9/v1/other/path";
  const frame = (t: number, json: unknown, from: "client" | "server" = "client") => ({
    from,
    t,
    text: JSON.stringify(json),
  });
  const delta = (t: number, delta: string) =>
    frame(t, { type: "response.output_text.delta", delta }, "server");
  const out = await outputs([
    exchange(CHAT, "text/event-stream", sse(["my token", key("A1")].map(chat)), 1),
    exchange(other, "application/json", chunks("B1"), 2),
    exchange(CHAT, "application/json", chunks("B2"), 3),
    exchange(CHAT, "application/x-ndjson", ndjson("B3"), 4),
    exchange(other, "application/x-ndjson", ndjson("B4"), 5),
    {
      timestamp: 1770000006,
      request: { method: "GET", url: "http://127.0.0.1:9/v1/responses", headers: {}, body: null },
      response: { status_code: 101, headers: { upgrade: "websocket" }, body: null },
      websocket: [
        // Frames a server sends before the client's first belong to no turn.
        delta(1770000006.01, "ws key s"),
        delta(1770000006.02, key("C2").slice(1)),
        frame(1770000006.1, { type: "response.create", input: "s" }),
        frame(1770000006.2, { type: "x", input: key("C1").slice(1) }),
      ],
    },
  ]);
  const leaks = Object.entries(out).flatMap(([name, text]) =>
    typeof text === "string"
      ? [...text.matchAll(/PLANTED(\w\d)/g)].map((m) => `${name} ${m[1]}`)
      : []
  );
  assert.deepEqual([...new Set(leaks)], []);
  assert.ok(out.markdown.includes("my token[REDACTED]"), "the answer is shown, key masked");
});
