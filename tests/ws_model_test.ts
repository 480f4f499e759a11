/**
 * A WebSocket session's model turns in the analysis model, like any HTTP turns: the recorded
 * Codex session (a prewarm and two turns over one socket) gives a conversation with two turns
 * and their own tokens, cache and context; Token Usage counts the turns; `--full` shows each
 * turn's request in full; the JSON lists the turns (schema-valid); OTLP gives a span per turn;
 * a turn cut off mid-answer is a turn with a problem; an HTTP fallback request of the same
 * session joins the conversation. A renderer defined here (a toy API) splits its exchanges into
 * calls through the Renderer interface alone.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { analyzeFile } from "../lib/analyze.ts";
import type { AnalysisModel, SessionRecord } from "../lib/model/types.ts";
import schema from "../lib/model/schema.json" with { type: "json" };
import { SpanBuilder } from "../lib/otlp/spans.ts";
import type { Span } from "../lib/otlp/encode.ts";
import { rendererChooser } from "../lib/renderer_choice.ts";
import type { Entry, Renderer, WebSocketMessage } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { codex } from "../targets/codex.ts";
import { builtinTargets } from "../targets/mod.ts";

const FIXTURE = new URL("../testdata/ws_codex_traffic.jsonl", import.meta.url).pathname;
const SESSION = "01a21422-31fb-7a73-be40-305bd6b30b7c";

async function fixture(): Promise<Entry> {
  return JSON.parse((await Deno.readTextFile(FIXTURE)).trim()) as Entry;
}

const frameJson = (m: WebSocketMessage) => JSON.parse(m.text ?? "null");

interface Reports {
  md: string;
  full: string;
  json: SessionRecord;
}

/** The Markdown report, the `--full` one and the JSON model of a capture of these entries. */
async function reports(entries: Entry[], renderers = builtinRenderers): Promise<Reports> {
  const dir = await Deno.makeTempDir({ prefix: "probe-ws-model-" });
  try {
    const input = `${dir}/capture.jsonl`;
    await Deno.writeTextFile(input, entries.map((e) => JSON.stringify(e) + "\n").join(""));
    const run = async (output: string, opts: { full?: boolean; json?: boolean }) => {
      const warnings: string[] = [];
      await analyzeFile({
        input,
        output,
        ...(renderers === builtinRenderers ? { target: codex } : {}),
        renderers,
        prices: builtinPriceTable(),
        warn: (l) => warnings.push(l),
        now: new Date("2026-02-05T09:00:00.000Z"),
        ...opts,
      });
      assert.deepEqual(warnings, []);
      return await Deno.readTextFile(output);
    };
    const md = await run(`${dir}/report.md`, {});
    const full = await run(`${dir}/full.md`, { full: true });
    const model = JSON.parse(await run(`${dir}/model.json`, { json: true })) as AnalysisModel;
    const validate = new Ajv({ strict: true, allErrors: true }).compile(schema);
    assert.ok(validate(model), JSON.stringify(validate.errors));
    return { md, full, json: model.sessions[0] };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const rowsAfter = (report: string, heading: string) => {
  const lines = report.split("\n");
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `no "${heading}"`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.startsWith("## ")) break;
    if (l.startsWith("| ") && !l.startsWith("|---")) out.push(l);
  }
  return out;
};

Deno.test("a WebSocket session's turns are model turns in every output", async (t) => {
  const { md, full, json } = await reports([await fixture()]);

  await t.step("Token Usage counts each generating turn as a request", () => {
    assert.deepEqual(rowsAfter(md, "## Token Usage").slice(1), [
      "| gpt-5 | 2 | 2 | 2100 | 1800 | 0 | 80 | 20 | $0.0014 |",
      "| Total | 2 | 2 | 2100 | 1800 | 0 | 80 | 20 | $0.0014 |",
    ]);
  });

  await t.step("Conversations lists the session with its two turns", () => {
    const rows = rowsAfter(md, "## Conversations");
    assert.equal(rows.length, 2, rows.join("\n"));
    assert.match(
      rows[1],
      /^\| 1 \| Run the echo tool once, then answer\. WS-TOOL \| main \| gpt-5 \| 2 \| 2100 \| 80 \|/,
    );
    assert.match(rows[1], /\| 86% \|/);
  });

  await t.step(
    "Context Composition: the latest turn, #exchange.call, with the whole context",
    () => {
      const [, row] = rowsAfter(md, "## Context Composition");
      // The system prompt is the prewarm's and the first turn's developer messages: the server
      // holds them for the turns that continue the prewarm's response.
      assert.match(
        row,
        /^\| 1 \| #1\.3 \| \d+ \(20133 B\) \| \d+ \(17261 B\) \| \d+ \(1193 B\) \| \d+ \(261 B\) \| 0 \(0 B\) \|/,
      );
    },
  );

  await t.step("the JSON model: a turn per call, with its own tokens, cache and timing", () => {
    assert.equal(json.turnCount, 2);
    assert.equal(json.exchanges, 1);
    assert.equal(json.conversationCount, 1);
    assert.deepEqual(
      json.turns.map((x) => [
        x.index,
        x.call,
        x.conversation,
        x.tokens?.input,
        x.tokens?.cached,
        x.tokens?.output,
        x.cache.hitRate === null ? null : Math.round(x.cache.hitRate * 1000) / 1000,
        x.ttfbMs,
        x.durationMs,
        x.newFrom,
        x.items,
        x.toolCalls.map((c) => c.name),
        x.status,
        x.inProgress,
      ]),
      [
        [1, 2, 1, 1000, 800, 50, 0.8, 3, 8, 0, 2, [], "101", false],
        [1, 3, 1, 1100, 1000, 30, 0.909, 3, 9, 2, 5, ["exec_command"], "101", false],
      ],
    );
    assert.equal(json.turns[0].start, 1795634115.1540697, "the turn's own request frame");
    assert.equal(json.conversations[0].turnCount, 2);
    assert.equal(json.conversations[0].title, "Run the echo tool once, then answer. WS-TOOL");
  });

  await t.step("--full shows each turn's request in full, like an HTTP request", () => {
    const lines = full.split("\n");
    // Without --full the later turns show only what changed ("Tools: 9 unchanged since turn 1").
    assert.ok(md.includes("Tools: 9 unchanged since turn 1."));
    assert.ok(!full.includes("unchanged since turn"));
    assert.equal(lines.filter((l) => l === "###### Tools (9)").length, 3, "every turn's tools");
    const turn3 = lines.indexOf("##### Turn 3 request: response.create (+0.144s)");
    const turn3Items = lines.slice(turn3).find((l) => l.startsWith("###### Input items"));
    assert.equal(turn3Items, "###### Input items (1)");
    assert.ok(lines.slice(turn3).some((l) => l.startsWith("| 1 |  | function_call_output |")));
  });
});

/** The fixture cut after its last turn's first answer frames (no response.completed). */
async function cutFixture(incomplete: boolean): Promise<Entry> {
  const entry = await fixture();
  const messages = entry.websocket!;
  const lastCreate = messages.findLastIndex((m) => frameJson(m)?.type === "response.create");
  entry.websocket = messages.slice(0, lastCreate + 4);
  if (incomplete) entry.incomplete = true;
  return entry;
}

Deno.test("a WebSocket turn cut off mid-answer is a turn with a problem", async (t) => {
  await t.step("the socket closed mid-turn: an error turn, its problem, no usage", async () => {
    const { md, json } = await reports([await cutFixture(false)]);
    assert.equal(json.turnCount, 2);
    const cut = json.turns[1];
    assert.equal(cut.call, 3);
    assert.equal(cut.status, "error");
    assert.equal(cut.inProgress, false);
    assert.equal(cut.tokens, null);
    assert.deepEqual(cut.problems, [
      "the socket closed mid-turn (no response.completed; last server frame: " +
      "response.content_part.added)",
      "no usage reported",
    ]);
    assert.deepEqual(
      rowsAfter(md, "## Token Usage")[1],
      "| gpt-5 | 2 | 1 | 1000 | 800 | 0 | 50 | 20 | $0.0008 |",
    );
    assert.match(md, /- \\#1 GET \/v1\/responses: turn 3: the socket closed mid-turn/);
  });

  await t.step("the capture stopped mid-turn: the turn is in progress", async () => {
    const { json } = await reports([await cutFixture(true)]);
    const cut = json.turns[1];
    assert.equal(cut.status, "incomplete");
    assert.equal(cut.inProgress, true);
    assert.match(cut.problems[0], /^the capture stopped mid-turn/);
  });
});

/**
 * Codex falling back to HTTP after the socket: a `POST /v1/responses` of the same session
 * (its prompt_cache_key) that resends the whole history the socket built, then a new prompt.
 */
function httpFallback(ws: Entry): Entry {
  const creates = ws.websocket!.filter((m) => frameJson(m)?.type === "response.create")
    .map(frameJson);
  const outputs = ws.websocket!.map(frameJson)
    .filter((f) => f?.type === "response.completed")
    .map((f) => f.response.output);
  const history = creates.flatMap((c, i) => [...c.input, ...outputs[i]]);
  const last = creates[creates.length - 1];
  const body = {
    model: "gpt-5",
    instructions: last.instructions,
    tools: last.tools,
    prompt_cache_key: last.prompt_cache_key,
    stream: true,
    input: [...history, {
      type: "message",
      role: "user",
      content: [{ type: "input_text", text: "Now say it again over HTTP." }],
    }],
  };
  const events = [
    { type: "response.created", response: { id: "resp_http4", status: "in_progress" } },
    {
      type: "response.completed",
      response: {
        id: "resp_http4",
        object: "response",
        status: "completed",
        model: "gpt-5",
        output: [{
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "Said again." }],
        }],
        usage: {
          input_tokens: 1300,
          input_tokens_details: { cached_tokens: 1100 },
          output_tokens: 5,
          total_tokens: 1305,
        },
      },
    },
  ];
  const t0 = ws.timing!.end! + 1;
  return {
    timestamp: t0,
    request: {
      method: "POST",
      url: ws.request.url,
      headers: { ...ws.request.headers, "content-type": "application/json" },
      body,
    },
    response: {
      status_code: 200,
      headers: { "content-type": "text/event-stream" },
      body: events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(""),
    },
    timing: { start: t0, first_byte: t0 + 0.2, end: t0 + 0.5 },
  };
}

Deno.test("an HTTP fallback of the same Codex session continues the WebSocket's conversation", async () => {
  const ws = await fixture();
  const http = httpFallback(ws);
  const { md, json } = await reports([ws, http]);
  assert.equal(json.conversationCount, 1, JSON.stringify(json.conversations));
  assert.deepEqual(json.turns.map((x) => [x.index, x.call ?? null, x.conversation]), [
    [1, 2, 1],
    [1, 3, 1],
    [2, null, 1],
  ]);
  // The HTTP request resends what the socket built: it continues the last WebSocket turn's
  // context (5 items, the server's view of it), then the answer to it and the new prompt.
  const [, , h] = json.turns;
  assert.deepEqual([h.newFrom, h.items], [5, 7], JSON.stringify(h));
  assert.equal(h.context.bytes.newInput, 125, "the new prompt only");
  // The report's log shows the HTTP request's delta from the socket's last turn as the server
  // saw it (not from the socket's handshake, which sent no items).
  assert.ok(md.includes("##### Input items: 2 new, 7 earlier items unchanged"));
  assert.deepEqual(
    rowsAfter(md, "## Token Usage")[1],
    "| gpt-5 | 3 | 3 | 3400 | 2900 | 0 | 85 | 20 | $0.0018 |",
  );
  assert.match(
    rowsAfter(md, "## Conversations")[1],
    /^\| 1 \| Run the echo tool once, then answer\. WS-TOOL \| main \| gpt-5 \| 3 \|/,
  );
});

Deno.test("OTLP: a span per WebSocket turn, in the conversation's trace with its HTTP turns", async () => {
  const ws = await fixture();
  const builder = new SpanBuilder({
    rendererFor: rendererChooser(builtinRenderers, codex),
    content: false,
    agent: "codex",
    sessionHeaders: builtinTargets.flatMap((t) => t.sessionHeaders ?? []),
  });
  const spans: Span[] = [...builder.add(ws), ...builder.add(httpFallback(ws))];
  spans.push(...builder.finish());
  assert.deepEqual(spans.map((s) => s.name), ["chat gpt-5", "chat gpt-5", "chat gpt-5"]);
  assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, "one conversation, one trace");
  const a = spans.map((s) => s.attributes);
  assert.deepEqual(a.map((x) => x["gen_ai.response.id"]), ["resp_ws2", "resp_ws3", "resp_http4"]);
  assert.deepEqual(a.map((x) => x["gen_ai.usage.input_tokens"]), [1000, 1100, 1300]);
  assert.deepEqual(a.map((x) => x["gen_ai.conversation.id"]), [SESSION, SESSION, SESSION]);
  assert.deepEqual(a.map((x) => x["gen_ai.response.model"]), ["gpt-5", "gpt-5", "gpt-5"]);
  assert.deepEqual(a.map((x) => x["server.address"]), ["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
  assert.deepEqual(a.map((x) => x["gen_ai.request.previous_response.id"]), [
    "resp_ws1",
    "resp_ws2",
    undefined,
  ]);
  // Each span has its call's own times: from its request frame to its last answer frame.
  assert.deepEqual(spans.slice(0, 2).map((s) => [s.startNs, s.endNs]), [
    [1795634115154070000n, 1795634115162311000n],
    [1795634115267904000n, 1795634115277284000n],
  ]);
  // As for an HTTP stream: time to the first answer frame, from the turn's request frame.
  const ttfc = a.map((x) =>
    Number((x["gen_ai.response.time_to_first_chunk"] as { value: number }).value)
  );
  assert.ok(Math.abs(ttfc[0] - (1795634115.1568708 - 1795634115.1540697)) < 1e-6, String(ttfc));
  assert.ok(Math.abs(ttfc[1] - (1795634115.2710485 - 1795634115.267904)) < 1e-6, String(ttfc));
  assert.ok(Math.abs(ttfc[2] - 0.2) < 1e-6, String(ttfc));
});

Deno.test("a renderer defined in a test splits an exchange into calls with no change in lib/", async () => {
  // A toy batch API: POST /batch sends several prompts; the answer holds one result each, and
  // each call's context is the prompts before it.
  let asked = 0;
  const toy: Renderer = {
    id: "toy_batch",
    name: "Toy Batch API",
    detect: (req) => (req.path === "/batch" ? 100 : 0),
    renderRequest: () => ({ blocks: [] }),
    requestParts: (body) => ({
      fields: [],
      extra: [],
      conversationKey: String((body as { key: string }).key),
    }),
    // A call sends one prompt (`q`); the server keeps the batch's earlier ones (`context`).
    requestFacts: (body) => {
      const { q, context = [] } = body as { q: string; context?: string[] };
      return {
        tools: [],
        items: [...context, q].map((text) => ({
          role: "user",
          kind: "text" as const,
          text,
          key: JSON.stringify(text),
        })),
        order: ["items"],
        model: "toy-1",
      };
    },
    renderResponse: (view, entry) => {
      const answers = (view.body as { answers: { q: string; n: number }[] }).answers;
      const prompts = (entry.request.body as { prompts: string[] }).prompts;
      return {
        blocks: [{ kind: "paragraph", text: `${answers.length} answers` }],
        calls: answers.map((ans, i) => ({
          number: i + 1,
          entry: {
            ...entry,
            timestamp: entry.timestamp + i,
            request: { ...entry.request, body: { key: "k", q: prompts[i] } },
          },
          response: {
            blocks: [],
            usage: { input: ans.n, output: 1, total: ans.n + 1 },
            model: "toy-1",
          },
          // The request as the server saw it, asked for when the call is counted.
          wholeBody: () => {
            asked++;
            return { key: "k", q: prompts[i], context: prompts.slice(0, i) };
          },
          problems: [],
        })),
      };
    },
  };
  const entry: Entry = {
    timestamp: 1_700_000_000,
    request: {
      method: "POST",
      url: "http://h/batch",
      headers: {},
      body: { key: "k", prompts: ["a", "b", "c"] },
    },
    response: {
      status_code: 200,
      headers: {},
      body: { answers: [{ n: 10 }, { n: 20 }, { n: 30 }] },
    },
  };
  const { md, json } = await reports([entry], new Map([["toy_batch", toy]]));
  // Three reports (Markdown, --full, JSON), each asking each call's whole request once for the
  // model and the last call's once more for the conversation's delta view.
  assert.equal(asked, 12);
  assert.deepEqual(json.turns.map((x) => [x.index, x.call, x.tokens?.input, x.newFrom, x.items]), [
    [1, 1, 10, 0, 1],
    [1, 2, 20, 1, 2],
    [1, 3, 30, 2, 3],
  ]);
  assert.deepEqual(rowsAfter(md, "## Token Usage")[1].split(" | ").slice(0, 4), [
    "| toy-1",
    "3",
    "3",
    "60",
  ]);
});

Deno.test("an event in a WebSocket turn names that turn (#N.C)", async () => {
  // The last turn answered by another model: a model switch at call 3 of exchange 1.
  const entry = await fixture();
  entry.websocket = entry.websocket!.map((m) => {
    const f = frameJson(m);
    if (f?.response?.id !== "resp_ws3") return m;
    return { ...m, text: JSON.stringify({ ...f, response: { ...f.response, model: "gpt-5.1" } }) };
  });
  const { md, json } = await reports([entry]);
  assert.deepEqual(json.events, [
    { conversation: 1, kind: "model_switch", turn: 1, call: 3, detail: "gpt-5 → gpt-5.1" },
  ]);
  assert.deepEqual(rowsAfter(md, "## Compactions and Model Switches").slice(1), [
    "| #1.3 | 1 | model switch | gpt-5 → gpt-5.1 |",
  ]);
});
