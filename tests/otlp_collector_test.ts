/**
 * OTLP export checked at a real OpenTelemetry Collector (built by the test setup, OTLP/HTTP
 * receiver → file exporter): every span and attribute the Collector wrote for the sample, the
 * mixed four-API capture, --otlp-content (redacted), a live capture through real mitmdump, and
 * a Collector that is down and then comes back.
 */
import assert from "node:assert/strict";
import { rawRequest, startFakeUpstream } from "./fake_upstream.ts";
import { attrs, type CollectedSpan, Collector, freePort } from "./tools/collector.ts";
import {
  newestMitmdump,
  ProbeProcess,
  runProbe,
  startCodexCapture,
} from "./tools/capture_helpers.ts";

const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;
const MIXED = new URL("../testdata/mixed_traffic.jsonl", import.meta.url).pathname;
const WS = new URL("../testdata/ws_codex_traffic.jsonl", import.meta.url).pathname;

const CONTENT_KEYS = [
  "gen_ai.system_instructions",
  "gen_ai.input.messages",
  "gen_ai.output.messages",
  "gen_ai.tool.definitions",
];

function exportTo(collector: Collector, input: string, extra: string[] = []) {
  return runProbe(["export", "--otlp", collector.url, "--input", input, ...extra], {
    timeoutMs: 60_000,
  });
}

/** The GenAI attributes of a span (HTTP ones checked apart), content left out. */
function genai(s: CollectedSpan): Record<string, unknown> {
  const a = attrs(s.span.attributes as unknown[]);
  return Object.fromEntries(
    Object.entries(a).filter(([k]) => k.startsWith("gen_ai.") && !CONTENT_KEYS.includes(k)),
  );
}

/** Trace ids renumbered 1, 2, ... in order of first appearance. */
function traceNumbers(spans: CollectedSpan[]): number[] {
  const seen = new Map<string, number>();
  return spans.map((s) => {
    const id = s.span.traceId as string;
    if (!seen.has(id)) seen.set(id, seen.size + 1);
    return seen.get(id)!;
  });
}

Deno.test("probe export --otlp: the sample at a real Collector", async (t) => {
  await using collector = await Collector.start();
  const run = await exportTo(collector, SAMPLE, ["--target", "codex"]);
  assert.equal(run.code, 0, run.stderr.join("\n"));
  assert.deepEqual(run.stdout, [
    `Sent 3 spans (3 exchanges) to ${collector.url}/v1/traces`,
  ]);
  const spans = await collector.waitForSpans(3);

  await t.step("three CLIENT spans named {operation} {model}, in one trace", () => {
    assert.equal(spans.length, 3);
    assert.deepEqual(spans.map((s) => [s.span.name, s.span.kind]), [
      ["chat o4-mini", 3],
      ["chat o4-mini", 3],
      ["chat o4-mini", 3],
    ]);
    assert.deepEqual(traceNumbers(spans), [1, 1, 1]);
    assert.equal(new Set(spans.map((s) => s.span.spanId)).size, 3);
    for (const s of spans) {
      assert.match(s.span.traceId as string, /^[0-9a-f]{32}$/);
      assert.match(s.span.spanId as string, /^[0-9a-f]{16}$/);
    }
  });
  await t.step("every GenAI attribute, with the sample's usage", () => {
    const common = {
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "o4-mini",
      "gen_ai.request.stream": true,
      // Codex's session_id header: an id the traffic carries.
      "gen_ai.conversation.id": "0197a3c2-5f1e-7d20-9c1a-3b5e8f2d4a60",
      "gen_ai.response.model": "o4-mini",
      "gen_ai.response.finish_reasons": ["stop"],
    };
    assert.deepEqual(spans.map(genai), [
      {
        ...common,
        "gen_ai.response.id": "resp_001",
        "gen_ai.usage.input_tokens": 245,
        "gen_ai.usage.output_tokens": 89,
      },
      {
        ...common,
        "gen_ai.response.id": "resp_002",
        "gen_ai.usage.input_tokens": 412,
        "gen_ai.usage.output_tokens": 156,
        "gen_ai.usage.cache_read.input_tokens": 256,
        "gen_ai.usage.reasoning.output_tokens": 64,
      },
      {
        ...common,
        "gen_ai.response.id": "resp_003",
        "gen_ai.usage.input_tokens": 703,
        "gen_ai.usage.output_tokens": 41,
        "gen_ai.usage.cache_read.input_tokens": 512,
      },
    ]);
  });
  await t.step("HTTP and server attributes; times from the capture; no error", () => {
    const starts = ["1770280656100000000", "1770280660300000000", "1770280665800000000"];
    spans.forEach((s, i) => {
      const a = attrs(s.span.attributes as unknown[]);
      assert.equal(a["server.address"], "api.openai.com");
      assert.equal(a["server.port"], 443);
      assert.equal(a["http.request.method"], "POST");
      assert.equal(a["http.response.status_code"], 200);
      assert.equal(a["url.full"], "https://api.openai.com/v1/responses");
      assert.equal(a["error.type"], undefined);
      for (const k of CONTENT_KEYS) assert.equal(a[k], undefined, `${k} needs --otlp-content`);
      assert.equal(s.span.startTimeUnixNano, starts[i]);
      // The sample has no timing: the span is the instant of the request.
      assert.equal(s.span.endTimeUnixNano, starts[i]);
      assert.equal((s.span.status as { code?: number } | undefined)?.code ?? 0, 0);
    });
  });
  await t.step("the resource names the agent and the host; the scope is probe", () => {
    const r = spans[0].resource;
    assert.equal(r["service.name"], "codex");
    assert.equal(r["gen_ai.agent.name"], "codex");
    assert.equal(r["host.name"], Deno.hostname());
    assert.equal(r["telemetry.sdk.name"], "probe");
    assert.equal(spans[0].scope.name, "probe");
  });
});

Deno.test("probe export --otlp: the mixed four-API capture", async (t) => {
  await using collector = await Collector.start();
  const run = await exportTo(collector, MIXED);
  assert.equal(run.code, 0, run.stderr.join("\n"));
  const spans = await collector.waitForSpans(15);
  const a = spans.map((s) => attrs(s.span.attributes as unknown[]));

  await t.step("one span per exchange, one trace per conversation", () => {
    assert.deepEqual(spans.map((s) => s.span.name), [
      "HEAD",
      "chat claude-opus-4-8",
      "chat claude-opus-4-8",
      "chat gpt-6.1-sol",
      "chat gpt-6.1-sol",
      "generate_content gemini-3.5-flash-lite",
      "generate_content gemini-3.8-flash",
      "generate_content gemini-3.8-flash",
      "chat gpt-4.1",
      "chat gpt-4.1",
      "chat gpt-4.1",
      "chat gpt-5-mini",
      "chat gpt-4.1-mini",
      "chat claude-haiku-4-5",
      "generate_content gemini-2.5-pro",
    ]);
    // The analysis model's conversations (as `analyze --format json` lists them): Claude
    // Code's HEAD probe joins its conversation; opencode's title request (no tools) is a thread
    // of its own beside the two turns of its session.
    assert.deepEqual(traceNumbers(spans), [1, 1, 1, 2, 2, 3, 4, 4, 5, 6, 6, 7, 8, 9, 10]);
  });
  await t.step("without --target, each span's resource names the agent its request names", () => {
    assert.deepEqual(spans.map((s) => [s.span.name, s.resource["service.name"]]), [
      ["HEAD", "claude-code"],
      ["chat claude-opus-4-8", "claude-code"],
      ["chat claude-opus-4-8", "claude-code"],
      ["chat gpt-6.1-sol", "codex"],
      ["chat gpt-6.1-sol", "codex"],
      ["generate_content gemini-3.5-flash-lite", "gemini-cli"],
      ["generate_content gemini-3.8-flash", "gemini-cli"],
      ["generate_content gemini-3.8-flash", "gemini-cli"],
      ["chat gpt-4.1", "opencode"],
      ["chat gpt-4.1", "opencode"],
      ["chat gpt-4.1", "opencode"],
      ["chat gpt-5-mini", "probe"],
      ["chat gpt-4.1-mini", "probe"],
      ["chat claude-haiku-4-5", "probe"],
      ["generate_content gemini-2.5-pro", "probe"],
    ]);
    for (const s of spans) {
      const agent = s.resource["service.name"];
      assert.equal(s.resource["gen_ai.agent.name"], agent === "probe" ? undefined : agent);
      assert.equal(s.resource["host.name"], Deno.hostname());
    }
  });
  await t.step("the non-model request is a plain HTTP client span", () => {
    assert.equal(spans[0].span.kind, 3);
    assert.deepEqual(a[0], {
      "http.request.method": "HEAD",
      "url.full": "https://api.anthropic.com/",
      "server.address": "api.anthropic.com",
      "server.port": 443,
      "http.response.status_code": 200,
    });
  });
  await t.step("provider, operation, stream and usage per API", () => {
    const pick = (x: Record<string, unknown>) => [
      x["gen_ai.provider.name"],
      x["gen_ai.operation.name"],
      x["gen_ai.request.stream"],
      x["gen_ai.usage.input_tokens"],
      x["gen_ai.usage.output_tokens"],
      x["gen_ai.usage.cache_read.input_tokens"],
      x["gen_ai.usage.cache_write.input_tokens"],
      x["gen_ai.usage.reasoning.output_tokens"],
      x["gen_ai.response.finish_reasons"],
    ];
    const anthropic = ["anthropic", "chat", true, 270, 27, 100, 20, undefined];
    const responses = ["openai", "chat", true, 321, 45, undefined, undefined, undefined, ["stop"]];
    const gemini = ["gcp.gemini", "generate_content", true, 180, 30, 30, undefined, 8, ["STOP"]];
    const chat = ["openai", "chat", true, 210, 34, 64, undefined, undefined];
    assert.deepEqual(a.slice(1).map(pick), [
      [...anthropic, ["tool_use"]],
      [...anthropic, ["end_turn"]],
      responses,
      responses,
      ["gcp.gemini", "generate_content", false, ...gemini.slice(3)],
      gemini,
      gemini,
      [...chat, ["stop"]],
      [...chat, ["tool_calls"]],
      [...chat, ["stop"]],
      ["openai", "chat", false, 321, 45, undefined, undefined, undefined, ["stop"]],
      ["openai", "chat", false, 210, 34, 64, undefined, undefined, ["stop"]],
      ["anthropic", "chat", false, 270, 27, 100, 20, undefined, ["end_turn"]],
      gemini,
    ]);
  });
  await t.step("conversation ids only where the traffic carries one", () => {
    assert.deepEqual(a.map((x) => x["gen_ai.conversation.id"]), [
      undefined,
      "bb5362f1-130b-47d7-ad60-6c94b020dd4b", // x-claude-code-session-id
      "bb5362f1-130b-47d7-ad60-6c94b020dd4b",
      "01a21425-0b88-7350-b580-f54c39bc654d", // Codex session-id
      "01a21425-0b88-7350-b580-f54c39bc654d",
      undefined, // the Gemini Developer API carries none
      undefined,
      undefined,
      "ses_debdb13dbffeHEHeNPlLX5D76P", // opencode x-session-id
      "ses_debdb13dbffeHEHeNPlLX5D76P",
      "ses_debdb13dbffeHEHeNPlLX5D76P",
      undefined,
      undefined,
      undefined,
      "session-1", // Code Assist's request.session_id
    ]);
  });
  await t.step("response ids and models, time to first chunk on streams, timing", () => {
    assert.deepEqual(a.slice(1, 3).map((x) => x["gen_ai.response.id"]), [
      "msg_fake1",
      "msg_fake1",
    ]);
    assert.equal(a[3]["gen_ai.response.id"], "resp_fake2");
    assert.equal(a[14]["gen_ai.response.model"], "gemini-2.5-pro");
    assert.equal(a[14]["server.address"], "cloudcode-pa.googleapis.com");
    // Claude's first call: start 1795634284.5767307, first byte 1795634284.5859654.
    const ttfc = a[1]["gen_ai.response.time_to_first_chunk"] as number;
    assert.ok(Math.abs(ttfc - 0.0092347) < 1e-6, String(ttfc));
    assert.equal(a[12]["gen_ai.response.time_to_first_chunk"], undefined, "not a stream");
    assert.equal(spans[1].span.startTimeUnixNano, "1795634284576731000");
    assert.equal(spans[1].span.endTimeUnixNano, "1795634284587403000");
  });
});

Deno.test("probe export --otlp: Codex over WebSocket is one span per generating turn", async () => {
  await using collector = await Collector.start();
  const run = await exportTo(collector, WS, ["--target", "codex"]);
  assert.equal(run.code, 0, run.stderr.join("\n"));
  const spans = await collector.waitForSpans(2);
  // Three response.create frames; the first is a prewarm (generate: false) and makes no call.
  assert.deepEqual(spans.map((s) => s.span.name), ["chat gpt-5", "chat gpt-5"]);
  assert.deepEqual(traceNumbers(spans), [1, 1]);
  assert.deepEqual(
    spans.map(genai).map((a) => [
      a["gen_ai.request.previous_response.id"],
      a["gen_ai.response.id"],
      a["gen_ai.usage.input_tokens"],
      a["gen_ai.usage.output_tokens"],
      a["gen_ai.usage.cache_read.input_tokens"],
      a["gen_ai.conversation.id"],
      a["gen_ai.request.stream"],
    ]),
    [
      ["resp_ws1", "resp_ws2", 1000, 50, 800, "01a21422-31fb-7a73-be40-305bd6b30b7c", true],
      ["resp_ws2", "resp_ws3", 1100, 30, 1000, "01a21422-31fb-7a73-be40-305bd6b30b7c", true],
    ],
  );
  // Each span has its turn's own times, within the socket's.
  assert.deepEqual(spans.map((s) => [s.span.startTimeUnixNano, s.span.endTimeUnixNano]), [
    ["1795634115154070000", "1795634115162311000"],
    ["1795634115267904000", "1795634115277284000"],
  ]);
});

Deno.test("probe export --otlp --otlp-content: messages in the conventions' schema", async (t) => {
  await using collector = await Collector.start();
  const run = await exportTo(collector, SAMPLE, ["--otlp-content"]);
  assert.equal(run.code, 0, run.stderr.join("\n"));
  const spans = await collector.waitForSpans(3);
  const a = spans.map((s) => attrs(s.span.attributes as unknown[]));
  const json = (i: number, k: string) => JSON.parse(a[i][k] as string);

  await t.step("system instructions and tool definitions", () => {
    const system = json(0, "gen_ai.system_instructions");
    assert.equal(system.length, 1);
    assert.equal(system[0].type, "text");
    assert.match(system[0].content, /^You are Codex, a coding agent/);
    assert.deepEqual(json(0, "gen_ai.tool.definitions").map((t: { name: string }) => t.name), [
      "shell",
      "write_file",
    ]);
  });
  await t.step("input messages: only what is new in each request", () => {
    assert.deepEqual(json(0, "gen_ai.input.messages"), [{
      role: "user",
      parts: [{
        type: "text",
        content: "Write a Python function that checks whether a number is prime.",
      }],
    }]);
    const second = json(1, "gen_ai.input.messages");
    assert.deepEqual(second.map((m: { role: string }) => m.role), ["assistant", "user"]);
    assert.deepEqual(second[1].parts, [{ type: "text", content: "Save it to prime.py." }]);
    const third = json(2, "gen_ai.input.messages");
    assert.deepEqual(third.map((m: { role: string }) => m.role), ["assistant", "tool", "user"]);
    assert.deepEqual(third[1].parts, [{
      type: "tool_call_response",
      id: "call_write_1",
      response: "Wrote 218 bytes to prime.py",
    }]);
  });
  await t.step("output messages: text, reasoning and tool calls with parsed arguments", () => {
    const out = json(1, "gen_ai.output.messages");
    assert.equal(out.length, 1);
    assert.equal(out[0].role, "assistant");
    assert.equal(out[0].finish_reason, "stop");
    assert.deepEqual(out[0].parts.map((p: { type: string }) => p.type), ["reasoning", "tool_call"]);
    assert.equal(out[0].parts[1].name, "write_file");
    assert.equal(out[0].parts[1].id, "call_write_1");
    assert.equal(out[0].parts[1].arguments.path, "prime.py");
    assert.deepEqual(json(2, "gen_ai.output.messages")[0].parts[0].arguments.command, [
      "python",
      "-m",
      "pytest",
      "-q",
      "test_prime.py",
    ]);
  });
  await t.step("secrets are redacted as in every other output", async () => {
    const dir = await Deno.makeTempDir({ prefix: "probe-otlp-secrets-" });
    try {
      const input = `${dir}/traffic.jsonl`;
      const entry = {
        timestamp: 1795634284.5,
        request: {
          method: "POST",
          url: "https://api.openai.com/v1/chat/completions?key=PLANTED-query-key-91",
          headers: { authorization: "Bearer sk-PLANTED-otlp-bearer-3a" },
          body: {
            model: "gpt-4.1",
            api_key: "PLANTED-body-api-key-77",
            messages: [{ role: "user", content: "hello" }],
          },
        },
        response: {
          status_code: 200,
          headers: { "set-cookie": "sid=PLANTED-cookie-12" },
          body: { id: "c1", choices: [{ message: { role: "assistant", content: "hi" } }] },
        },
      };
      await Deno.writeTextFile(input, JSON.stringify(entry) + "\n");
      await using secretCollector = await Collector.start();
      const r = await exportTo(secretCollector, input, ["--otlp-content"]);
      assert.equal(r.code, 0, r.stderr.join("\n"));
      const [span] = await secretCollector.waitForSpans(1);
      const written = await Deno.readTextFile(secretCollector.file);
      for (const secret of ["PLANTED-query-key-91", "sk-PLANTED", "PLANTED-body-api-key-77"]) {
        assert.ok(!written.includes(secret), `${secret} reached the Collector`);
      }
      const sa = attrs(span.span.attributes as unknown[]);
      assert.match(sa["url.full"] as string, /key=(\[REDACTED|%5BREDACTED)/);
      assert.match(sa["gen_ai.input.messages"] as string, /hello/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

/** Spans with their trace and span ids renumbered by first appearance (ids are random). */
function comparable(spans: CollectedSpan[]): unknown[] {
  const ids = new Map<string, string>();
  const id = (x: unknown) => {
    if (typeof x !== "string" || x === "") return x;
    if (!ids.has(x)) ids.set(x, `#${ids.size + 1}`);
    return ids.get(x);
  };
  return spans.map((s) => ({
    ...s,
    span: {
      ...s.span,
      traceId: id(s.span.traceId),
      spanId: id(s.span.spanId),
      parentSpanId: id(s.span.parentSpanId),
      links: (s.span.links as Record<string, unknown>[] | undefined)?.map((l) => ({
        ...l,
        traceId: id(l.traceId),
        spanId: id(l.spanId),
      })),
    },
  }));
}

Deno.test("probe export --otlp: OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", async (t) => {
  await t.step("the Collector reads the same spans as from JSON, content included", async () => {
    for (const input of [MIXED, SAMPLE]) {
      await using json = await Collector.start();
      await using proto = await Collector.start();
      const a = await exportTo(json, input, ["--otlp-content"]);
      const b = await runProbe(
        ["export", "--otlp", proto.url, "--input", input, "--otlp-content"],
        { env: { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }, timeoutMs: 60_000 },
      );
      assert.equal(a.code, 0, a.stderr.join("\n"));
      assert.equal(b.code, 0, b.stderr.join("\n"));
      assert.match(b.stdout.join("\n"), /^Sent \d+ spans .* with content \(protobuf\)$/);
      const n = Number(/Sent (\d+) spans/.exec(a.stdout.join("\n"))![1]);
      const fromJson = await json.waitForSpans(n);
      const fromProto = await proto.waitForSpans(n);
      assert.equal(fromProto.length, n);
      assert.deepEqual(comparable(fromProto), comparable(fromJson));
    }
  });
  await t.step("gRPC or an unknown protocol: one usage error naming the variable", async () => {
    for (
      const [name, value] of [
        ["OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"],
        ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml"],
      ]
    ) {
      const run = await runProbe(
        ["export", "--otlp", "http://127.0.0.1:4318", "--input", SAMPLE],
        { env: { [name]: value } },
      );
      assert.equal(run.code, 2);
      assert.deepEqual(run.stderr, [
        `probe: error: ${name}="${value}": probe speaks OTLP over HTTP; set http/protobuf or ` +
        `http/json${
          value === "grpc" ? " (gRPC is not supported; the Collector's HTTP port is 4318)" : ""
        }`,
      ]);
    }
  });
});

Deno.test("probe export --otlp: a Collector that is down, then up", async (t) => {
  await t.step("the export waits and retries until it comes back", async () => {
    const port = freePort();
    const p = new ProbeProcess(
      ["export", "--otlp", `http://127.0.0.1:${port}`, "--input", SAMPLE],
      { timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 1500));
    await using collector = await Collector.start(port);
    const run = await p.finish();
    assert.equal(run.code, 0, run.stderr.join("\n"));
    assert.equal((await collector.waitForSpans(3)).length, 3);
    assert.equal(run.stderr.length, 1, run.stderr.join("\n"));
    assert.match(run.stderr[0], /^warning: .* did not take the spans .*; retrying for up to 30 s$/);
    assert.deepEqual(run.stdout, [`Sent 3 spans (3 exchanges) to ${collector.url}/v1/traces`]);
  });
  await t.step(
    "an endpoint that never answers: a warning at once, one error line, exit 1",
    async () => {
      const port = freePort();
      const run = await runProbe(
        ["export", "--otlp", `http://127.0.0.1:${port}`, "--input", SAMPLE],
        { env: { PROBE_OTLP_PATIENCE_MS: "1500" }, timeoutMs: 60_000 },
      );
      assert.equal(run.code, 1);
      assert.equal(run.stderr.length, 2, run.stderr.join("\n"));
      // Said when the first attempt fails, not only once the patience ran out.
      assert.match(
        run.stderr[0],
        new RegExp(
          `^warning: http://127\\.0\\.0\\.1:${port}/v1/traces did not take the spans ` +
            `\\([^h(][^)]*\\); retrying for up to 2 s$`,
        ),
      );
      assert.match(
        run.stderr[1],
        new RegExp(`^probe: error: 3 of 3 spans not delivered to http://127\\.0\\.0\\.1:${port}/`),
      );
      // The reason follows once, without the URL again.
      assert.match(run.stderr[1], /\/v1\/traces \([^h(][^)]*\); is the Collector running\?/);
    },
  );
  await t.step("usage errors name the flag or the variable", async () => {
    const bad = await runProbe(["export", "--otlp", "grpc://x:4317", "--input", SAMPLE]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.join("\n"), /--otlp: "grpc:\/\/x:4317" must be http/);
    const env = await runProbe(["export", "--otlp", "env", "--input", SAMPLE], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "" },
    });
    assert.equal(env.code, 2);
    assert.match(env.stderr.join("\n"), /neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT/);
  });
  await t.step("--otlp env uses OTEL_EXPORTER_OTLP_ENDPOINT and its headers", async () => {
    await using collector = await Collector.start();
    const run = await runProbe(["export", "--otlp", "env", "--input", SAMPLE], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_HEADERS: "x-probe-team=blue",
      },
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr.join("\n"));
    assert.equal((await collector.waitForSpans(3)).length, 3);
  });
});

Deno.test("probe capture --otlp: spans sent live through real mitmdump", async (t) => {
  const mitmdump = (await newestMitmdump()).path;
  await using upstream = await startFakeUpstream();

  await t.step("each exchange reaches the Collector while the capture runs", async () => {
    await using collector = await Collector.start();
    const dir = await Deno.makeTempDir({ prefix: "probe-otlp-live-" });
    const { probe, api } = await startCodexCapture(mitmdump, upstream.url, dir, [
      "--otlp",
      collector.url,
      "--otlp-content",
    ]);
    try {
      const body = (prompt: string) =>
        JSON.stringify({
          model: "gpt-live",
          stream: true,
          input: [{
            type: "message",
            role: "user",
            content: [{ type: "input_text", text: prompt }],
          }],
        });
      const res = await fetch(`http://127.0.0.1:${api}/v1/responses`, {
        method: "POST",
        headers: { "content-type": "application/json", session_id: "live-session-1" },
        body: body("first live question"),
      });
      await res.text();
      // Live: the span is at the Collector before the capture stops.
      const first = await collector.waitForSpans(1);
      assert.equal(first.length, 1);
      const a = attrs(first[0].span.attributes as unknown[]);
      assert.equal(first[0].span.name, "chat gpt-live");
      assert.equal(a["gen_ai.conversation.id"], "live-session-1");
      assert.equal(a["gen_ai.usage.input_tokens"], 321);
      assert.equal(a["gen_ai.usage.output_tokens"], 45);
      assert.equal(a["gen_ai.request.stream"], true);
      assert.match(a["gen_ai.input.messages"] as string, /first live question/);
      assert.ok(
        BigInt(first[0].span.endTimeUnixNano as string) >
          BigInt(first[0].span.startTimeUnixNano as string),
      );
      await rawRequest(`http://127.0.0.1:${api}/`, { method: "GET" });
    } finally {
      const result = await probe.stop();
      await Deno.remove(dir, { recursive: true });
      assert.ok(
        result.stdout.some((l) => /^OTLP: 2 of 2 spans sent to http:\/\/127\.0\.0\.1:/.test(l)),
        result.stdout.join("\n"),
      );
    }
    const spans = await collector.waitForSpans(2);
    assert.deepEqual(spans.map((s) => s.span.name), ["chat gpt-live", "GET"]);
    assert.deepEqual(traceNumbers(spans), [1, 1]);
  });

  await t.step(
    "a Collector that is down changes nothing for the agent; up again, it gets the spans",
    async () => {
      const port = freePort();
      const dir = await Deno.makeTempDir({ prefix: "probe-otlp-down-" });
      const { probe, api } = await startCodexCapture(mitmdump, upstream.url, dir, [
        "--otlp",
        `http://127.0.0.1:${port}`,
      ]);
      let collector: Collector | undefined;
      try {
        const ask = async (prompt: string) => {
          const res = await fetch(`http://127.0.0.1:${api}/v1/responses`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "gpt-down", stream: false, input: prompt }),
          });
          assert.equal(res.status, 200);
          return await res.json();
        };
        // The agent's requests go through while nothing listens on the Collector's port.
        for (let i = 0; i < 3; i++) assert.equal((await ask(`down ${i}`)).object, "response");
        await new Promise((r) => setTimeout(r, 800));
        collector = await Collector.start(port);
        await ask("up again");
        const spans = await collector.waitForSpans(4);
        assert.equal(spans.length, 4);
        assert.ok(spans.every((s) => s.span.name === "chat gpt-down"));
      } finally {
        const result = await probe.stop();
        await collector?.[Symbol.asyncDispose]();
        await Deno.remove(dir, { recursive: true });
        assert.equal(result.code, 0, result.stderr.join("\n"));
        const line = result.stdout.find((l) => l.startsWith("OTLP: "));
        assert.match(line ?? "", /^OTLP: 4 of 4 spans sent to /, result.stdout.join("\n"));
        // The capture itself is whole.
        assert.ok(result.stdout.some((l) => /Capture stopped: 4 exchanges recorded/.test(l)));
      }
    },
  );
});
