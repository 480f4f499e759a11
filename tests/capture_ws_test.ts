/**
 * WebSocket capture end to end, on every mitmdump the setup found:
 * - the real Codex CLI with `supports_websockets=true` in its provider table, through
 *   `probe capture codex --analyze`, against the fake WebSocket upstream: one socket, a prewarm
 *   and two turns with a function_call round trip. The capture holds the messages in order
 *   with direction and time; the report shows the prompt, the tool call, the answer and the
 *   summed usage. Run with `-- --update-fixture` to rewrite testdata/ws_codex_traffic.jsonl
 *   from the pinned mitmproxy's capture.
 * - a WebSocket client in Deno speaking Codex's frame sequence (with an ack and a binary
 *   frame), an error frame, a socket the upstream closes mid-turn and one whose TCP connection
 *   drops mid-turn: what the client receives is what the upstream sent, and the capture and
 *   the report say what happened.
 */
import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import type { Entry, ProxySpec, Target } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import {
  startDroppingWsUpstream,
  startFakeWsUpstream,
  TOOL_MARKER,
  TOOL_OUTPUT,
  toolAnswer,
  WS_USAGE,
} from "./fake_ws_upstream.ts";
import { codexBin, findMitmdumps, PINNED_MITMPROXY, ROOT } from "./tools/paths.ts";
import { captureCodexExec } from "./tools/agent_env.ts";
import { startTempCapture } from "./tools/capture_helpers.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const MITMDUMPS = await findMitmdumps();
const CODEX = await codexBin();
const KEY = "sk-proj-FAKEprobeWSTEST0123456789abcdefKEY";
const PROMPT = `Run the echo tool once, then answer. ${TOOL_MARKER}`;
const FIXTURE = `${ROOT}/testdata/ws_codex_traffic.jsonl`;
const UPDATE = Deno.args.includes("--update-fixture");

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        id = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(id);
  }
}

function parseLines(text: string): Entry[] {
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

/** The JSON `type` of each text message, "binary" for binary ones, "text" for other text. */
function frameTypes(entry: Entry): string[] {
  return (entry.websocket ?? []).map((m) => {
    if (m.text === undefined) return `${m.from} binary`;
    try {
      return `${m.from} ${JSON.parse(m.text).type}`;
    } catch {
      return `${m.from} text`;
    }
  });
}

/** Messages in arrival order, within the exchange's time span. */
function assertTimes(entry: Entry): void {
  const ts = (entry.websocket ?? []).map((m) => m.t);
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i] >= ts[i - 1], `message ${i} in order`);
  assert.ok(ts[0] >= entry.timing!.start, "first message after the start");
  assert.ok(entry.timing!.end! >= ts[ts.length - 1], "the exchange ends with the socket");
}

for (const { path: mitmdump, version } of MITMDUMPS) {
  const tag = `[mitmproxy ${version}]`;

  Deno.test(`probe capture codex over WebSocket (real Codex CLI) ${tag}`, async () => {
    await using upstream = await startFakeWsUpstream();
    const home = await Deno.makeTempDir({ prefix: "probe-codex-ws-" });
    try {
      const { result, stdout, stderr, out } = await captureCodexExec({
        mitmdump,
        codex: CODEX,
        upstream: upstream.url,
        home,
        key: KEY,
        prompt: PROMPT,
        execOptions: [
          // gpt-5 gets plain function tools (exec_command); the default model a freeform one.
          "-m",
          "gpt-5",
        ],
      });
      assert.equal(result.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.ok(stdout.includes(toolAnswer(TOOL_OUTPUT)), "codex printed the final answer");

      // Codex upgraded to a WebSocket through the proxy and never fell back to HTTP.
      assert.deepEqual(upstream.requests, [{ method: "GET", path: "/v1/responses" }]);
      const [socket] = upstream.sockets;
      assert.equal(socket.headers.authorization, `Bearer ${KEY}`);
      assert.match(socket.headers["openai-beta"], /^responses_websockets=/);
      const sent = socket.received.map((f) => JSON.parse(f as string));
      assert.deepEqual(sent.map((f) => [f.type, f.generate, f.previous_response_id]), [
        ["response.create", false, undefined],
        ["response.create", undefined, "resp_ws1"],
        ["response.create", undefined, "resp_ws2"],
      ]);

      const capture = await Deno.readTextFile(`${out}/traffic.jsonl`);
      const entries = parseLines(capture);
      assert.equal(entries.length, 1);
      const [e] = entries;
      assert.equal(e.request.method, "GET");
      assert.equal(e.response!.status_code, 101);
      assert.equal(e.proxy, "api");
      const client = (e.websocket ?? []).filter((m) => m.from === "client");
      assert.deepEqual(client.map((m) => m.text), socket.received, "client frames unchanged");
      assert.deepEqual(frameTypes(e), [
        "client response.create",
        "server response.created",
        "server response.completed",
        "client response.create",
        "server response.created",
        "server response.output_item.added",
        "server response.reasoning_summary_text.delta",
        "server response.output_item.done",
        "server response.output_item.added",
        "server response.function_call_arguments.delta",
        "server response.function_call_arguments.done",
        "server response.output_item.done",
        "server response.completed",
        "client response.create",
        "server response.created",
        "server response.output_item.added",
        "server response.content_part.added",
        "server response.output_text.delta",
        "server response.output_text.delta",
        "server response.output_text.done",
        "server response.content_part.done",
        "server response.output_item.done",
        "server response.completed",
      ]);
      assertTimes(e);

      const report = await Deno.readTextFile(`${out}/analysis_report.md`);
      assert.ok(report.includes("| 101 | 1 |"), "the status table shows the handshake");
      assert.ok(report.includes(PROMPT), "the report shows the prompt");
      assert.ok(report.includes('"cmd": "echo probe-ws-tool-ran"'), "the report shows the call");
      assert.ok(report.includes(`call_ws_1 → `), "the report shows the tool result");
      assert.ok(report.includes(toolAnswer(TOOL_OUTPUT)), "the report shows the answer");
      const input = WS_USAGE.tool.input_tokens + WS_USAGE.answer.input_tokens;
      const cached = WS_USAGE.tool.input_tokens_details.cached_tokens +
        WS_USAGE.answer.input_tokens_details.cached_tokens;
      const output = WS_USAGE.tool.output_tokens + WS_USAGE.answer.output_tokens;
      // Each generating turn is a model call (the prewarm is none): two requests, one
      // conversation of two turns with the session's totals.
      assert.ok(
        report.includes(`| gpt-5 | 2 | 2 | ${input} | ${cached} | 0 | ${output} | 20 |`),
        "the Token Usage table counts the two turns",
      );
      assert.match(
        report,
        new RegExp(`\\| 1 \\| ${PROMPT} \\| main \\| gpt-5 \\| 2 \\| ${input} \\| ${output} \\|`),
        "the Conversations table lists the session's two turns",
      );
      assert.match(report, /\| 1 \| #1\.3 \|/, "Context Composition: the latest turn, #1.3");
      assert.ok(report.includes("## Problems\n\nNone found.\n"), "no problems");
      for (const [name, text] of [["capture", capture], ["report", report]]) {
        assert.ok(!text.includes(KEY), `no key in the ${name}`);
        assert.ok(!text.includes("FAKEprobeWSTEST"), `no part of the key in the ${name}`);
      }
      if (UPDATE && version === PINNED_MITMPROXY) await Deno.writeTextFile(FIXTURE, capture);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });

  Deno.test(`capture records a Deno WebSocket client's turns, errors and cut sockets ${tag}`, async () => {
    await using upstream = await startFakeWsUpstream();
    await using dropping = startDroppingWsUpstream();
    await using s = await startTempCapture(
      mitmdump,
      target([proxy("api", upstream.url), proxy("drop", dropping.url)]),
      "probe-capture-ws-",
    );
    const wsUrl = (name: string) => s.url(name).replace("http:", "ws:");

    // Codex's sequence: prewarm, a turn ending in a function call, an ack, the tool result.
    const a = await WsClient.open(`${wsUrl("api")}v1/responses`);
    a.send(create([{ role: "developer", content: "You are a test." }], { generate: false }));
    await a.until("response.completed", 1);
    a.send(create([user(`Use the tool ${TOOL_MARKER}`)], { previous_response_id: "resp_ws1" }));
    const call = (await a.until("response.completed", 2)).response.output[1];
    assert.equal(call.type, "function_call");
    a.send({ type: "response.processed", response_id: "resp_ws2" });
    a.send(create([{ type: "function_call_output", call_id: call.call_id, output: TOOL_OUTPUT }], {
      previous_response_id: "resp_ws2",
    }));
    const done = await a.until("response.completed", 3);
    assert.equal(done.response.output[0].content[0].text, toolAnswer(TOOL_OUTPUT));
    a.send(new Uint8Array([1, 2, 3]));
    a.close();
    assert.equal((await withTimeout(a.closed, 30_000, "close")).code, 1000);

    // An error frame, then a turn the upstream cuts with a close frame.
    const b = await WsClient.open(`${wsUrl("api")}v1/responses`);
    b.send(create([user("WS-ERROR please")]));
    await b.until("error", 1);
    // The upstream's own binary and non-JSON text frames, then a normal answer.
    b.send(create([user("WS-BINARY please")]));
    await b.until("response.completed", 1);
    b.send(create([user("WS-CUT please")]));
    assert.equal((await withTimeout(b.closed, 30_000, "close")).code, 1011);

    // A TCP connection the upstream drops mid-turn.
    const c = await WsClient.open(`${wsUrl("drop")}v1/responses`);
    c.send(create([user("hello")]));
    await withTimeout(c.closed, 30_000, "close after the drop");
    await withTimeout(dropping.dropped, 30_000, "drop");

    await s.session.stop();
    const entries = parseLines(await Deno.readTextFile(s.file));
    const byTypes = (first: string) =>
      entries.find((e) => e.websocket?.some((m) => m.text?.includes(first)))!;
    const ea = byTypes("You are a test.");
    const eb = byTypes("WS-ERROR");
    const ec = entries.find((e) => e.proxy === "drop")!;
    assert.equal(entries.length, 3);

    assert.deepEqual(frameTypes(ea).filter((t) => t.startsWith("client")), [
      "client response.create",
      "client response.create",
      "client response.processed",
      "client response.create",
      "client binary",
    ]);
    assert.equal(ea.websocket!.at(-1)!.base64, "AQID");
    assert.deepEqual(
      ea.websocket!.filter((m) => m.from === "server").map((m) => m.text),
      a.received,
      "the capture holds exactly what the client received",
    );
    assert.deepEqual(frameTypes(eb), [
      "client response.create",
      "server error",
      "client response.create",
      "server binary",
      "server text",
      "server response.created",
      "server response.output_item.added",
      "server response.content_part.added",
      "server response.output_text.delta",
      "server response.output_text.delta",
      "server response.output_text.done",
      "server response.content_part.done",
      "server response.output_item.done",
      "server response.completed",
      "client response.create",
      "server response.created",
      "server response.output_item.added",
      "server response.output_text.delta",
    ]);
    assert.equal(eb.websocket![3].base64, "AJ+Slg==", "the upstream's binary frame, exact");
    assert.deepEqual(frameTypes(ec), [
      "client response.create",
      "server response.created",
      "server response.output_text.delta",
    ]);
    for (const e of entries) {
      assert.equal(e.response!.status_code, 101);
      assert.equal(e.incomplete, undefined);
      assertTimes(e);
    }

    const report = await analyze(s.file);
    const index = (e: Entry) => entries.indexOf(e) + 1;
    const problems = [
      `#${index(eb)} GET /v1/responses: turn 1: error event: rate_limit_exceeded: ` +
      "Slow down (fake WS upstream)",
      // As for an HTTP stream, a turn without usage says so (its tokens are not in the totals).
      `#${index(eb)} GET /v1/responses: turn 1: no usage reported`,
      `#${index(eb)} GET /v1/responses: turn 2: 1 server frame(s) that are not JSON objects`,
      `#${index(eb)} GET /v1/responses: turn 3: no usage reported`,
      `#${index(ec)} GET /v1/responses: turn 1: no usage reported`,
      `#${index(eb)} GET /v1/responses: turn 3: the socket closed mid-turn ` +
      "(no response.completed; last server frame: response.output_text.delta)",
      `#${index(ec)} GET /v1/responses: turn 1: the socket closed mid-turn ` +
      "(no response.completed; last server frame: response.output_text.delta)",
    ].sort((x, y) => x.localeCompare(y));
    const listed = report.split("## Token Usage")[0].split("\n").filter((l) => /^- \\?#/.test(l))
      .map((l) => l.slice(2).replace(/\\/g, "")).sort((x, y) => x.localeCompare(y));
    assert.deepEqual(listed, problems);
    assert.ok(report.includes("| client | response.processed | ack of resp_ws2 |"));
    assert.ok(report.includes("| client | binary | 3 bytes (base64 in the capture) |"));
    assert.ok(report.includes("| server | binary | 4 bytes (base64 in the capture) |"));
    assert.ok(report.includes("| server | text (not JSON) | not json: a plain text frame |"));
    assert.ok(report.includes("Half an ans"), "the cut turn's text, rebuilt from its deltas");
    assert.ok(report.includes("| 1 | +"), "the turns table");
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

function proxy(name: string, upstream: string): ProxySpec {
  return { name, port: 0, upstream, purpose: `test proxy ${name}` };
}

function target(proxies: ProxySpec[]): Target {
  return { ...codex, proxies, env: {}, manualSteps: [], commandArgs: undefined };
}

async function analyze(input: string): Promise<string> {
  const output = `${input}.md`;
  const warnings: string[] = [];
  await analyzeFile({
    input,
    output,
    target: codex,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    warn: (l) => warnings.push(l),
  });
  assert.deepEqual(warnings, []);
  return await Deno.readTextFile(output);
}

const user = (text: string) => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
});

function create(input: unknown[], extra: Record<string, unknown> = {}) {
  return { type: "response.create", model: "gpt-test", stream: true, input, ...extra };
}

/** A WebSocket client that collects the server's frames and waits for a given one. */
class WsClient {
  received: string[] = [];
  closed: Promise<CloseEvent>;
  #ws: WebSocket;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", (ev) => {
        resolve(ev);
        this.#wake();
      })
    );
    ws.addEventListener("message", (ev) => {
      this.received.push(typeof ev.data === "string" ? ev.data : "(binary)");
      this.#wake();
    });
  }

  static open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    const client = new WsClient(ws);
    return withTimeout(
      new Promise((resolve, reject) => {
        ws.onopen = () => resolve(client);
        ws.onerror = () => reject(new Error(`cannot open ${url}`));
      }),
      30_000,
      "WebSocket open",
    );
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(frame: unknown): void {
    this.#ws.send(frame instanceof Uint8Array ? frame : JSON.stringify(frame));
  }

  close(): void {
    this.#ws.close(1000, "done");
  }

  /** The `n`th received frame of JSON type `type` (1-based), once it arrived. */
  // deno-lint-ignore no-explicit-any
  async until(type: string, n: number): Promise<any> {
    const find = () =>
      this.received.map((t) => {
        try {
          return JSON.parse(t);
        } catch {
          return undefined;
        }
      }).filter((f) => f?.type === type)[n - 1];
    return await withTimeout(
      (async () => {
        for (;;) {
          const found = find();
          if (found) return found;
          await new Promise<void>((r) => this.#waiters.push(r));
        }
      })(),
      30_000,
      `frame ${type} #${n}`,
    );
  }
}
