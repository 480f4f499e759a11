/**
 * WebSocket exchanges: the turn split (lib/websocket.ts), the response view built for them
 * (lib/analyze.ts), their rendering by the Responses renderer (renderers/openai_responses_ws.ts)
 * and the report of a real Codex capture (testdata/ws_codex_traffic.jsonl, recorded through
 * mitmdump by tests/capture_ws_test.ts with `-- --update-fixture`).
 */
import assert from "node:assert/strict";
import { analyzeFile, responseView } from "../lib/analyze.ts";
import type { Block, Entry, RenderedBody, WebSocketMessage } from "../lib/types.ts";
import { classifyFrame, websocketView } from "../lib/websocket.ts";
import { sessionOf, websocketSession } from "../renderers/openai_ws_turns.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { openaiResponses } from "../renderers/openai_responses.ts";
import { sumUsage } from "../renderers/openai_responses_ws.ts";
import { codex } from "../targets/codex.ts";
import { answerFrames, TOOL_MARKER, TOOL_OUTPUT, toolAnswer } from "./fake_ws_upstream.ts";
import { section, tableRows } from "./tools/render_helpers.ts";
import { rng } from "./tools/data.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const FIXTURE = new URL("../testdata/ws_codex_traffic.jsonl", import.meta.url).pathname;
const T0 = 1700000000;

// ---------------------------------------------------------------------------------------------
// Helpers

type Frame = Record<string, unknown>;

/** A recorded message `dt` seconds after T0: JSON for objects, text for strings, else binary. */
function msg(from: "client" | "server", dt: number, frame: Frame | string | Uint8Array) {
  const m: WebSocketMessage = { from, t: T0 + dt };
  if (frame instanceof Uint8Array) m.base64 = btoa(String.fromCharCode(...frame));
  else m.text = typeof frame === "string" ? frame : JSON.stringify(frame);
  return m;
}

/** The server frames the fake upstream answers `frame` with, `dt` seconds on. */
function answer(frame: Frame, turn: number, dt: number): WebSocketMessage[] {
  return answerFrames(frame, turn).frames.map((f) => msg("server", dt, f));
}

function wsEntry(messages: unknown[], extra: Partial<Entry> = {}): Entry {
  return {
    timestamp: T0,
    request: {
      method: "GET",
      url: "http://127.0.0.1:9/v1/responses",
      headers: { upgrade: "websocket" },
      body: null,
    },
    response: { status_code: 101, headers: {}, body: null },
    timing: { start: T0, first_byte: T0 + 0.001, end: T0 + 2 },
    websocket: messages as WebSocketMessage[],
    ...extra,
  };
}

const TOOLS = [{
  type: "function",
  name: "exec_command",
  description: "Runs a command.",
  parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] },
}];

function create(input: unknown[], extra: Frame = {}): Frame {
  return {
    type: "response.create",
    model: "gpt-test",
    stream: true,
    prompt_cache_key: "conv-1",
    tools: TOOLS,
    input,
    ...extra,
  };
}

const user = (text: string) => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});

const PREWARM = create([{ type: "message", role: "developer", content: "Be brief." }], {
  generate: false,
});
const ASK = create([user(`Run it ${TOOL_MARKER}`)], { previous_response_id: "resp_ws1" });
const RESULT = create(
  [{ type: "function_call_output", call_id: "call_ws_1", output: TOOL_OUTPUT }],
  { previous_response_id: "resp_ws2" },
);

/** Codex's sequence: prewarm, a function call turn, an ack, the tool result turn, a binary. */
function codexMessages(): WebSocketMessage[] {
  return [
    msg("client", 0.1, PREWARM),
    ...answer(PREWARM, 1, 0.2),
    msg("client", 0.3, ASK),
    ...answer(ASK, 2, 0.4),
    msg("client", 0.5, { type: "response.processed", response_id: "resp_ws2" }),
    msg("client", 0.6, RESULT),
    ...answer(RESULT, 3, 0.7),
    msg("client", 0.8, new Uint8Array([1, 2, 3])),
  ];
}

function render(entry: Entry): RenderedBody {
  return openaiResponses.renderResponse(responseView(entry)!, entry);
}

function headings(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.kind === "heading" ? [`${b.level ?? 1} ${b.text}`] : []));
}

function fieldRows(blocks: Block[]): [string, string][] {
  return blocks.flatMap((b) => (b.kind === "fields" ? b.rows : []));
}

const texts = (blocks: Block[]) =>
  blocks.flatMap((b) => (b.kind === "paragraph" || b.kind === "code" ? [b.text] : []));

// ---------------------------------------------------------------------------------------------
// lib/websocket.ts

Deno.test("websocketSession splits messages into turns", async (t) => {
  await t.step("Codex's sequence: a prewarm and two turns", () => {
    const s = websocketSession(codexMessages());
    assert.deepEqual(
      s.turns.map((x) => [x.number, x.prewarm, x.events.length, x.others.length, x.finished]),
      [[1, true, 2, 0, true], [2, false, 9, 1, true], [3, false, 9, 1, true]],
    );
    assert.equal(s.turns.every((x) => x.cut === undefined), true);
    assert.deepEqual([s.clientMessages, s.serverMessages], [5, 20]);
    assert.deepEqual([s.first, s.last], [T0 + 0.1, T0 + 0.8]);
    assert.deepEqual([s.turns[1].start, s.turns[1].end], [T0 + 0.4, T0 + 0.5]);
    assert.equal(s.turns[1].request?.json?.previous_response_id, "resp_ws1");
    assert.deepEqual(s.turns[1].others.map((f) => f.type), ["response.processed"]);
    assert.deepEqual(s.turns[2].others.map((f) => [f.from, f.binaryBytes]), [["client", 3]]);
    assert.equal(s.events.length, 20);
    assert.equal(s.events[0], s.turns[0].events[0], "the turns hold the same event objects");
  });

  await t.step("server frames become SSE-shaped events with their JSON memoised", () => {
    const frame = { type: "response.created", response: { id: "r1" } };
    const [e] = websocketSession([msg("client", 0, create([])), msg("server", 1, frame)])
      .events;
    assert.deepEqual(e, {
      type: "response.created",
      data: JSON.stringify(frame),
      lastEventId: "",
      complete: true,
      json: frame,
    });
  });

  await t.step("frames before the first response.create are turn 0", () => {
    const s = websocketSession([
      msg("server", 0, { type: "codex.rate_limits", primary: { used_percent: 5 } }),
      msg("client", 1, create([])),
    ]);
    assert.deepEqual(s.turns.map((x) => [x.number, x.events.length, x.cut]), [
      [0, 1, undefined],
      [1, 0, "closed"],
    ]);
  });

  await t.step("how an unfinished turn ended: closed, capture stopped, superseded", () => {
    const cut = [
      msg("client", 0, create([])),
      msg("server", 1, { type: "response.created", response: { id: "r1" } }),
      msg("client", 2, create([])),
      msg("server", 3, { type: "response.created", response: { id: "r2" } }),
    ];
    assert.deepEqual(websocketSession(cut).turns.map((x) => x.cut), ["superseded", "closed"]);
    assert.deepEqual(websocketSession(cut, true).turns.map((x) => x.cut), [
      "superseded",
      "capture stopped",
    ]);
    const error = [msg("client", 0, create([])), msg("server", 1, { type: "error" })];
    assert.deepEqual(websocketSession(error).turns.map((x) => [x.finished, x.cut]), [
      [true, undefined],
    ]);
  });

  await t.step("odd messages are classified, never thrown on", () => {
    assert.deepEqual(classifyFrame({ from: "client", t: 5, text: "[1,2]" }), {
      from: "client",
      t: 5,
      text: "[1,2]",
    });
    assert.deepEqual(classifyFrame({ from: "server", t: "x", text: "{oops" }), {
      from: "server",
      t: NaN,
      text: "{oops",
    });
    assert.deepEqual(classifyFrame({ from: "server", t: 1, base64: "AAECAw==" }), {
      from: "server",
      t: 1,
      binaryBytes: 4,
    });
    assert.deepEqual(classifyFrame(null), { from: "server", t: NaN, text: "" });
    assert.deepEqual(classifyFrame({ from: "client", t: 1, text: ' {"type":7}' }), {
      from: "client",
      t: 1,
      text: ' {"type":7}',
      json: { type: 7 },
    });
    const s = websocketSession([null, 3, "x", { from: "client" }, []]);
    assert.deepEqual([s.turns.length, s.turns[0].number, s.turns[0].others.length], [1, 0, 5]);
    assert.deepEqual([s.first, s.last], [NaN, NaN]);
  });
});

Deno.test("websocketView and responseView give WebSocket exchanges their frames", async (t) => {
  await t.step("responseView carries the frames and every server JSON frame as events", () => {
    const entry = wsEntry(codexMessages());
    const view = responseView(entry)!;
    assert.equal(view.kind, "websocket");
    if (view.kind !== "websocket") return;
    assert.equal(view.status, 101);
    assert.equal(view.frames.length, codexMessages().length);
    assert.equal(view.events.length, 20);
    assert.deepEqual(view.events.slice(0, 2).map((e) => e.type), [
      "response.created",
      "response.completed",
    ]);
    const session = sessionOf(view, entry);
    assert.equal(session?.turns.length, 3);
    assert.equal(session?.events.length, 20);
  });

  await t.step("the turns are rebuilt from the entry when the view lacks the frames", () => {
    const entry = wsEntry(codexMessages());
    const plain = { kind: "plain" as const, status: 101, contentType: "", body: null };
    assert.equal(sessionOf(plain, entry)?.turns.length, 3);
  });

  await t.step("no message list: no turns, an ordinary view", () => {
    const junk = wsEntry([], { websocket: "junk" as unknown as WebSocketMessage[] });
    assert.equal(
      websocketView({ status: 101, contentType: "", body: null }, junk),
      undefined,
    );
    assert.deepEqual(responseView(junk), {
      kind: "plain",
      status: 101,
      contentType: "",
      body: null,
    });
    const plain = wsEntry([]);
    delete plain.websocket;
    assert.deepEqual(responseView(plain), {
      kind: "plain",
      status: 101,
      contentType: "",
      body: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// renderers/openai_responses_ws.ts

Deno.test("openaiResponses renders a WebSocket exchange turn by turn", async (t) => {
  const entry = wsEntry(codexMessages());
  const r = render(entry);

  await t.step("the handshake is the request; the first turn groups the conversation", () => {
    assert.deepEqual(openaiResponses.renderRequest(null, entry).blocks, [{
      kind: "paragraph",
      text: "WebSocket upgrade request (no body). The socket carried 5 client and 20 server " +
        "messages: each turn is shown under Response Body.",
    }]);
    const parts = openaiResponses.requestParts!(null, entry)!;
    assert.deepEqual(
      [parts.fields, parts.model, parts.conversationKey, parts.continues, parts.items],
      [[["Model (first turn)", "gpt-test"]], "gpt-test", "conv-1", undefined, undefined],
    );
  });

  await t.step("usage is the sum over the turns; the last response and model", () => {
    assert.deepEqual(r.usage, {
      input: 2100,
      output: 80,
      total: 2180,
      cached: 1800,
      reasoning: 20,
    });
    assert.equal(r.model, "gpt-test");
    assert.equal(r.responseId, "resp_ws3");
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.blocks[0], {
      kind: "fields",
      rows: [
        [
          "WebSocket",
          "3 turn(s) (1 prewarm); 5 client and 20 server messages from +0.100s to +0.800s",
        ],
        ["Model", "gpt-test"],
        ["Last response", "resp_ws3"],
        [
          "Usage",
          "2100 input | 80 output | 2180 total | 1800 cached | 20 reasoning (sum over the turns)",
        ],
      ],
    });
  });

  await t.step("an overview table, then each turn's request and response", () => {
    assert.deepEqual(tableRows(section(r.blocks, "Turns (3)")), [
      ["1", "+0.100s", "prewarm, 1 input item(s)", "resp_ws1", "completed", "", ""],
      [
        "2",
        "+0.300s",
        "1 input item(s), continues resp_ws1",
        "resp_ws2",
        "completed",
        "reasoning, function_call exec_command",
        "1050",
      ],
      [
        "3",
        "+0.600s",
        "1 input item(s), continues resp_ws2",
        "resp_ws3",
        "completed",
        "message",
        "1130",
      ],
    ]);
    assert.deepEqual(headings(r.blocks), [
      "1 Turns (3)",
      "1 Turn 1 request: response.create, prewarm (generate: false) (+0.100s)",
      "2 Input items: 1 item",
      "2 Tools (1)",
      "2 Tool schemas",
      "1 Turn 1 response (+0.200s)",
      "1 Turn 2 request: response.create (+0.300s)",
      "2 Input items: continues resp_ws1; its 1 item is new",
      "1 Turn 2 response (+0.400s … +0.500s)",
      "2 Reasoning summary",
      "2 Tool calls",
      "2 Server events (9)",
      "1 Turn 2 other frames (1)",
      "1 Turn 3 request: response.create (+0.600s)",
      "2 Input items: continues resp_ws2; its 1 item is new",
      "1 Turn 3 response (+0.700s … +0.800s)",
      "2 Output text",
      "2 Server events (9)",
      "1 Turn 3 other frames (1)",
    ]);
  });

  await t.step("each request shows what changed since the previous turn", () => {
    const turn2 = section(r.blocks, "Turn 2 request: response.create (+0.300s)");
    assert.deepEqual(fieldRows(turn2), [
      ["Frame type", "response.create"],
      ["Model", "gpt-test"],
      ["Stream", "true"],
      ["Continues", "resp_ws1"],
      ["Prompt cache key", "conv-1"],
    ]);
    const items = section(r.blocks, "Input items: continues resp_ws1; its 1 item is new");
    assert.deepEqual(tableRows(items), [["1", "user", "message", `Run it ${TOOL_MARKER}`]]);
    assert.deepEqual(texts(items), ["Tools: 1 unchanged since turn 1."]);
    const items3 = section(r.blocks, "Input items: continues resp_ws2; its 1 item is new");
    assert.deepEqual(tableRows(items3), [
      ["1", "", "function_call_output", `call_ws_1 → ${TOOL_OUTPUT}`],
    ]);
  });

  await t.step("responses render like the SSE stream; the prewarm in one line", () => {
    assert.deepEqual(section(r.blocks, "Turn 1 response (+0.200s)"), [{
      kind: "fields",
      rows: [["Prewarm", "resp_ws1 completed, no output (response.created, response.completed)"]],
    }]);
    assert.deepEqual(fieldRows(section(r.blocks, "Turn 2 response (+0.400s … +0.500s)")), [
      ["Response", "resp_ws2"],
      ["Model", "gpt-test"],
      ["Status", "completed"],
      ["Usage", "1000 input | 50 output | 1050 total | 800 cached | 20 reasoning"],
    ]);
    assert.deepEqual(texts(section(r.blocks, "Reasoning summary")), [
      "The user wants the tool run.",
      "Encrypted reasoning: gAAAAB-fak… (31 chars).",
    ]);
    assert.deepEqual(texts(section(r.blocks, "Tool calls")), [
      '{\n  "cmd": "echo probe-ws-tool-ran"\n}',
    ]);
    assert.deepEqual(texts(section(r.blocks, "Output text")), [toolAnswer(TOOL_OUTPUT)]);
  });

  await t.step("acks and binary frames are listed compactly", () => {
    assert.deepEqual(tableRows(section(r.blocks, "Turn 2 other frames (1)")), [
      ["+0.500s", "client", "response.processed", "ack of resp_ws2"],
    ]);
    assert.deepEqual(tableRows(section(r.blocks, "Turn 3 other frames (1)")), [
      ["+0.800s", "client", "binary", "3 bytes (base64 in the capture)"],
    ]);
  });
});

Deno.test("openaiResponses shows WebSocket errors, cut turns and odd frames", async (t) => {
  await t.step("an error frame: errors table, status, problem", () => {
    const ask = create([user("WS-ERROR now")]);
    const r = render(wsEntry([msg("client", 0, ask), ...answer(ask, 1, 0.1)]));
    assert.deepEqual(r.problems, [
      "turn 1: error event: rate_limit_exceeded: Slow down (fake WS upstream)",
      "turn 1: no usage reported",
    ]);
    assert.deepEqual(tableRows(section(r.blocks, "Turns (1)"))[0], [
      "1",
      "+0.000s",
      "1 input item(s)",
      "",
      "error 429 rate_limit_exceeded",
      "",
      "",
    ]);
    assert.deepEqual(tableRows(section(r.blocks, "Errors")), [
      [
        "error event",
        "rate_limit_exceeded",
        "rate_limit_exceeded",
        "Slow down (fake WS upstream)",
        "",
      ],
    ]);
    assert.equal(r.usage, undefined);
  });

  await t.step("a socket closed mid-turn: truncated, text rebuilt from the deltas", () => {
    const ask = create([user("WS-CUT now")]);
    const r = render(wsEntry([msg("client", 0, ask), ...answer(ask, 1, 0.1)]));
    const cut = "the socket closed mid-turn (no response.completed; last server frame: " +
      "response.output_text.delta)";
    assert.deepEqual(r.problems, [`turn 1: ${cut}`, "turn 1: no usage reported"]);
    const response = section(r.blocks, "Turn 1 response (+0.100s)");
    assert.deepEqual(response[0], { kind: "paragraph", text: `Cut off: ${cut}.` });
    assert.deepEqual(texts(section(r.blocks, "Output text")).slice(0, 1), ["Half an ans"]);
    assert.equal(tableRows(section(r.blocks, "Turns (1)"))[0][4], "cut off (closed)");
  });

  await t.step("the capture stopped mid-turn; the next turn started first", () => {
    const first = create([user("one")]);
    const second = create([user("two")]);
    const messages = [
      msg("client", 0, first),
      msg("server", 0.1, { type: "response.created", response: { id: "r1" } }),
      msg("client", 0.2, second),
      msg("server", 0.3, { type: "response.created", response: { id: "r2" } }),
    ];
    const r = render(wsEntry(messages, { incomplete: true }));
    assert.deepEqual(r.problems, [
      "turn 1: the client sent the next response.create before this turn finished " +
      "(no response.completed; last server frame: response.created)",
      "turn 1: no usage reported",
      "turn 2: the capture stopped mid-turn (no response.completed; last server frame: " +
      "response.created)",
      "turn 2: no usage reported",
    ]);
  });

  await t.step("frames outside turns, response.append, non-JSON and binary frames", () => {
    const ask = create([user("hello")]);
    const r = render(wsEntry([
      msg("server", 0, { type: "codex.rate_limits", primary: { used_percent: 5 } }),
      msg("client", 0.1, ask),
      msg("server", 0.2, "not json"),
      msg("server", 0.2, new Uint8Array([9, 9])),
      ...answer(ask, 1, 0.3),
      msg("client", 0.4, { type: "response.append", input: [user("and more")] }),
      msg("client", 0.5, "plain text"),
      msg("client", 0.6, { type: "session.ping", n: 1 }),
    ]));
    assert.deepEqual(r.problems, ["turn 1: 1 server frame(s) that are not JSON objects"]);
    assert.deepEqual(tableRows(section(r.blocks, "Before the first response.create (1 frames)")), [
      ["+0.000s", "server", "codex.rate_limits", '{"primary":{"used_percent":5}}'],
    ]);
    assert.deepEqual(tableRows(section(r.blocks, "Turns (1)")), [
      ["–", "+0.000s", "", "", "", "", ""],
      ["1", "+0.100s", "1 input item(s)", "resp_ws1", "completed", "message", "1130"],
    ]);
    assert.deepEqual(tableRows(section(r.blocks, "Turn 1 other frames (5)")), [
      ["+0.200s", "server", "text (not JSON)", "not json"],
      ["+0.200s", "server", "binary", "2 bytes (base64 in the capture)"],
      ["+0.400s", "client", "response.append", "1 input item(s): user message: and more"],
      ["+0.500s", "client", "text (not JSON)", "plain text"],
      ["+0.600s", "client", "session.ping", '{"n":1}'],
    ]);
  });

  await t.step("no messages at all", () => {
    const r = render(wsEntry([]));
    assert.deepEqual(r.blocks, [
      {
        kind: "fields",
        rows: [["WebSocket", "0 turn(s); 0 client and 0 server messages"]],
      },
      { kind: "paragraph", text: "No WebSocket messages were recorded." },
    ]);
    assert.deepEqual([r.problems, r.usage], [[], undefined]);
  });

  await t.step("a refused upgrade (426) and ordinary requests are left alone", () => {
    const refused = wsEntry([], {
      response: { status_code: 426, headers: {}, body: "no websockets here" },
    });
    delete refused.websocket;
    assert.deepEqual(openaiResponses.renderRequest(null, refused).blocks, [{
      kind: "paragraph",
      text: "WebSocket upgrade request (no body). No WebSocket messages were recorded: the " +
        "server did not switch protocols (see the status), so a client would fall back to HTTP.",
    }]);
    assert.equal(openaiResponses.requestParts!(null, refused), undefined);
    const bare = wsEntry([]);
    delete bare.websocket;
    assert.deepEqual(openaiResponses.renderRequest(null, bare).blocks, [{
      kind: "paragraph",
      text: "WebSocket upgrade request (no body). The server switched protocols, but the " +
        "capture holds no WebSocket messages.",
    }]);
    assert.deepEqual(render(refused).blocks, [{
      kind: "code",
      text: "no websockets here",
      lang: "text",
    }]);
    const post: Entry = { ...refused, request: { ...refused.request, method: "POST" } };
    const body = { model: "m", input: "hi" };
    assert.deepEqual(
      openaiResponses.requestParts!(body, post)?.items?.row(0),
      ["1", "user", "message", "hi"],
    );
  });

  await t.step("odd and mutated messages never make it throw", () => {
    const r = rng(7);
    const base = codexMessages();
    const odd: unknown[] = [null, 1, "x", [], { from: "client" }, { from: "server", text: 5 }];
    for (let i = 0; i < 300; i++) {
      const messages: unknown[] = base.map((m) => ({ ...m }));
      for (let k = 0; k < 4; k++) {
        const at = Math.floor(r() * messages.length);
        const m = messages[at] as Record<string, unknown>;
        const pick = r();
        if (pick < 0.3) messages[at] = odd[Math.floor(r() * odd.length)];
        else if (pick < 0.6 && typeof m?.text === "string") {
          m.text = m.text.slice(0, Math.floor(r() * m.text.length));
        } else if (pick < 0.8 && typeof m?.text === "string") {
          const json = classifyFrame(m).json;
          const keys = Object.keys(json ?? {});
          if (json && keys.length > 0) {
            json[keys[Math.floor(r() * keys.length)]] = odd[Math.floor(r() * odd.length)];
            m.text = JSON.stringify(json);
          }
        } else messages.splice(at, 1);
      }
      const entry = wsEntry(messages, r() < 0.3 ? { incomplete: true } : {});
      const out = render(entry);
      assert.ok(Array.isArray(out.blocks) && Array.isArray(out.problems));
      openaiResponses.renderRequest(null, entry);
      openaiResponses.requestParts!(null, entry);
    }
  });
});

Deno.test("sumUsage adds the turns' counts", () => {
  assert.equal(sumUsage([undefined, undefined]), undefined);
  assert.deepEqual(
    sumUsage([
      { input: 10, output: 2, total: 12, cached: 4 },
      undefined,
      { input: 5, output: 1, total: 6, reasoning: 1, cacheWrite: 2 },
    ]),
    { input: 15, output: 3, total: 18, cached: 4, reasoning: 1, cacheWrite: 2 },
  );
});

// ---------------------------------------------------------------------------------------------
// The report of a real capture

Deno.test("analyze renders the recorded Codex WebSocket capture", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-ws-report-" });
  try {
    const output = `${dir}/report.md`;
    const warnings: string[] = [];
    await analyzeFile({
      input: FIXTURE,
      output,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: (l) => warnings.push(l),
      now: new Date("2026-02-05T09:00:00.000Z"),
      sourceLabel: "ws_codex_traffic.jsonl",
    });
    assert.deepEqual(warnings, []);
    const report = await Deno.readTextFile(output);
    const lines = report.split("\n");
    const after = (line: string, n: number) => {
      const at = lines.indexOf(line);
      assert.ok(at >= 0, `no line "${line}"`);
      return lines.slice(at, at + n);
    };

    await t.step("summary: no problems, the handshake status, usage of each turn", () => {
      assert.deepEqual(after("## Problems", 3), ["## Problems", "", "None found."]);
      assert.ok(lines.includes("| 101 | 1 |"));
      const usage = lines.filter((l) => /^\| (gpt-5|Total) \|/.test(l))
        .map((l) => l.split(" | ").slice(0, 8).join(" | "));
      // Each generating turn is a request (tests/ws_model_test.ts); the prewarm is none.
      assert.deepEqual(usage, [
        "| gpt-5 | 2 | 2 | 2100 | 1800 | 0 | 80 | 20",
        "| Total | 2 | 2 | 2100 | 1800 | 0 | 80 | 20",
      ]);
    });

    await t.step("the exchange: handshake, socket summary and turns table", () => {
      assert.ok(lines.includes("### 1\\. GET /v1/responses → 101"));
      assert.ok(lines.includes("- **Timing:** first byte 11 ms, total 162 ms"));
      assert.ok(
        lines.includes(
          "- **Conversation:** 1 (first request; grouped by conversation key " +
            "01a21422-31fb-7a73-be40-305bd6b30b7c)",
        ),
      );
      assert.deepEqual(after("#### Request Body", 5), [
        "#### Request Body",
        "",
        "- **Model (first turn):** gpt-5",
        "",
        "WebSocket upgrade request (no body). The socket carried 3 client and 20 server " +
        "messages: each turn is shown under Response Body.",
      ]);
      assert.deepEqual(after("#### Response Body", 14), [
        "#### Response Body",
        "",
        "- **WebSocket:** 3 turn(s) (1 prewarm); 3 client and 20 server messages from +0.015s " +
        "to +0.154s",
        "- **Model:** gpt-5",
        "- **Last response:** resp_ws3",
        "- **Usage:** 2100 input | 80 output | 2180 total | 1800 cached | 20 reasoning (sum " +
        "over the turns)",
        "",
        "##### Turns (3)",
        "",
        "| Turn | Time | Request | Response | Status | Output | Usage |",
        "|---|---|---|---|---|---|---|",
        "| 1 | +0.015s | prewarm, 1 input item(s) | resp_ws1 | completed |  |  |",
        "| 2 | +0.030s | 3 input item(s), continues resp_ws1 | resp_ws2 | completed | " +
        "reasoning, function_call exec_command | 1050 |",
        "| 3 | +0.144s | 1 input item(s), continues resp_ws2 | resp_ws3 | completed | message " +
        "| 1130 |",
      ]);
    });

    await t.step("each turn: request delta, then the response like an SSE stream", () => {
      const turnHeadings = lines.filter((l) => /^#{5} Turn /.test(l));
      assert.deepEqual(turnHeadings, [
        "##### Turn 1 request: response.create, prewarm (generate: false) (+0.015s)",
        "##### Turn 1 response (+0.019s … +0.020s)",
        "##### Turn 2 request: response.create (+0.030s)",
        "##### Turn 2 response (+0.033s … +0.039s)",
        "##### Turn 3 request: response.create (+0.144s)",
        "##### Turn 3 response (+0.147s … +0.154s)",
      ]);
      assert.ok(lines.includes("###### Tools (9)"), "the first turn lists the tools");
      assert.ok(lines.includes("Tools: 9 unchanged since turn 1."));
      assert.ok(lines.includes("Tools: 9 unchanged since turn 2."));
      assert.ok(
        lines.includes(
          "- **Prewarm:** resp_ws1 completed, no output (response.created, response.completed)",
        ),
      );
      assert.ok(
        lines.includes("| 3 | user | message | Run the echo tool once, then answer. WS-TOOL |"),
        "the prompt",
      );
      assert.deepEqual(after("###### Tool calls", 12), [
        "###### Tool calls",
        "",
        "- **Name:** exec_command",
        "- **Call ID:** call_ws_1",
        "- **Type:** function_call",
        "- **Status:** completed",
        "",
        "```json",
        "{",
        '  "cmd": "echo probe-ws-tool-ran"',
        "}",
        "```",
      ]);
      assert.ok(
        lines.some((l) =>
          l.startsWith("| 1 |  | function_call_output | call_ws_1 → Chunk ID: ") &&
          l.endsWith(" ⏎ Output: ⏎ probe-ws-tool-ran |")
        ),
        "the tool result",
      );
      assert.deepEqual(after("###### Output text", 5), [
        "###### Output text",
        "",
        "```text",
        toolAnswer(TOOL_OUTPUT),
        "```",
      ]);
      assert.ok(
        lines.includes(
          "- **Usage:** 1000 input | 50 output | 1050 total | 800 cached | 20 reasoning",
        ),
      );
      assert.ok(lines.includes("- **Usage:** 1100 input | 30 output | 1130 total | 1000 cached"));
      assert.equal(lines.filter((l) => l === "###### Server events (9)").length, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
