/**
 * The OTLP exporter's parts without a Collector: the JSON encoding rules of the OTLP spec
 * (the Collector is lenient, so they are checked here), the endpoint and header variables,
 * and delivery against a local server that fails on purpose (retries, gzip, bounded queue).
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { SpanDelivery } from "../lib/otlp/delivery.ts";
import {
  Double,
  encodeTraces,
  secondsToNs,
  type Span,
  SPAN_KIND_CLIENT,
  STATUS_ERROR,
} from "../lib/otlp/encode.ts";
import { parseHeaders, resolveEndpoint } from "../lib/otlp/endpoint.ts";
import { SpanBuilder } from "../lib/otlp/spans.ts";
import { normalize } from "../lib/jsonl.ts";
import { rendererChooser } from "../lib/renderer_choice.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";

const RESOURCE = { attributes: { "service.name": "codex", "host.name": "h" } };
const SCOPE = { name: "probe", version: "0.1.0" };

function span(n: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: `b7ad6b71692033${String(n % 100).padStart(2, "0")}`,
    name: `chat m${n}`,
    kind: SPAN_KIND_CLIENT,
    startNs: 1770280656100000000n,
    endNs: 1770280656350000000n,
    attributes: { "gen_ai.usage.input_tokens": 245 },
    ...extra,
  };
}

Deno.test("OTLP/HTTP JSON encoding follows the spec's rules", async (t) => {
  const body = JSON.parse(encodeTraces(RESOURCE, SCOPE, [
    span(1, {
      parentSpanId: "00f067aa0ba902b7",
      attributes: {
        s: "x",
        b: true,
        i: 9007199254740991,
        big: 12345678901234567890n,
        d: 0.25,
        whole: new Double(2),
        arr: ["a", "b"],
        kv: { k: 1 },
        skipped: undefined,
      },
      status: { code: STATUS_ERROR, message: "HTTP 500" },
    }),
  ]));
  const s = body.resourceSpans[0].scopeSpans[0].spans[0];
  await t.step("ids are lowercase hex of 32 and 16 characters, never base64", () => {
    assert.match(s.traceId, /^[0-9a-f]{32}$/);
    assert.match(s.spanId, /^[0-9a-f]{16}$/);
    assert.match(s.parentSpanId, /^[0-9a-f]{16}$/);
  });
  await t.step("enums are integers", () => {
    assert.equal(s.kind, 3);
    assert.deepEqual(s.status, { code: 2, message: "HTTP 500" });
  });
  await t.step("64-bit integers are decimal strings", () => {
    assert.equal(s.startTimeUnixNano, "1770280656100000000");
    assert.equal(s.endTimeUnixNano, "1770280656350000000");
    const byKey = Object.fromEntries(s.attributes.map((a: { key: string }) => [a.key, a]));
    assert.deepEqual(byKey.i.value, { intValue: "9007199254740991" });
    assert.deepEqual(byKey.big.value, { intValue: "12345678901234567890" });
  });
  await t.step("attribute values use the AnyValue forms; undefined ones are left out", () => {
    const byKey = Object.fromEntries(
      s.attributes.map((a: { key: string; value: unknown }) => [a.key, a.value]),
    );
    assert.deepEqual(byKey, {
      s: { stringValue: "x" },
      b: { boolValue: true },
      i: { intValue: "9007199254740991" },
      big: { intValue: "12345678901234567890" },
      d: { doubleValue: 0.25 },
      whole: { doubleValue: 2 },
      arr: { arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] } },
      kv: { kvlistValue: { values: [{ key: "k", value: { intValue: "1" } }] } },
    });
  });
  await t.step("keys are lowerCamelCase; resource and scope are set", () => {
    assert.deepEqual(Object.keys(body), ["resourceSpans"]);
    assert.deepEqual(Object.keys(body.resourceSpans[0]), ["resource", "scopeSpans"]);
    assert.deepEqual(body.resourceSpans[0].scopeSpans[0].scope, SCOPE);
    for (const key of Object.keys(s)) assert.match(key, /^[a-z][A-Za-z]*$/);
  });
  await t.step("an unset status is left out", () => {
    const plain = JSON.parse(encodeTraces(RESOURCE, SCOPE, [span(2)]));
    assert.equal(plain.resourceSpans[0].scopeSpans[0].spans[0].status, undefined);
  });
  await t.step("seconds become whole nanoseconds (microsecond precision)", () => {
    assert.equal(secondsToNs(1795634284.2662055), 1795634284266206000n);
  });
});

Deno.test("OTLP endpoint from --otlp and the OTEL_EXPORTER_OTLP_* variables", async (t) => {
  await t.step("--otlp is a base URL: /v1/traces is appended once", () => {
    assert.equal(resolveEndpoint("http://c:4318", {})?.url, "http://c:4318/v1/traces");
    assert.equal(resolveEndpoint("http://c:4318/", {})?.url, "http://c:4318/v1/traces");
    assert.equal(resolveEndpoint("http://c:4318/v1/traces", {})?.url, "http://c:4318/v1/traces");
  });
  await t.step("the traces variable is used as is and wins over the generic one", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/custom",
    };
    assert.equal(resolveEndpoint(undefined, env)?.url, "http://b:9999/custom");
    assert.equal(
      resolveEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318/otlp" })?.url,
      "http://a:4318/otlp/v1/traces",
    );
    assert.equal(resolveEndpoint(undefined, {}), undefined);
  });
  await t.step("headers are k=v pairs with percent-encoded values", () => {
    const ep = resolveEndpoint("http://c:4318", {
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-team = probe",
    });
    assert.deepEqual(ep?.headers, { authorization: "Bearer abc", "x-team": "probe" });
  });
  await t.step("bad values are one usage error naming the variable", () => {
    assert.throws(() => parseHeaders("novalue", "OTEL_EXPORTER_OTLP_HEADERS"), {
      message: /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/,
    });
    assert.throws(() => resolveEndpoint("grpc://c:4317", {}), { message: /--otlp: .*http/ });
    assert.throws(() => resolveEndpoint("not a url", {}), { message: /--otlp: .*not a URL/ });
  });
  await t.step("a login in the URL is refused without echoing its password", () => {
    // It used to be kept, and every delivery error printed the password.
    for (const url of ["http://me:s3cret@c:4318", "https://me:s3cret@c/otlp"]) {
      assert.throws(() => resolveEndpoint(url, {}), (e: unknown) => {
        const message = (e as Error).message;
        assert.match(message, /--otlp: "https?:\/\/me:\*\*\*@c.*a login in the URL is not sent/);
        assert.match(message, /OTEL_EXPORTER_OTLP_HEADERS/);
        assert.ok(!message.includes("s3cret"), message);
        return true;
      });
    }
    assert.throws(
      () => resolveEndpoint(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://u:pw9@a:4318" }),
      (e: unknown) => !(e as Error).message.includes("pw9"),
    );
    assert.throws(() => resolveEndpoint("ftp://me:s3cret@c/", {}), (e: unknown) => {
      assert.ok(!(e as Error).message.includes("s3cret"));
      return true;
    });
  });
});

/** A fake OTLP endpoint replying with the given statuses in turn (then 200). */
function fakeEndpoint(statuses: number[], headers: Record<string, string> = {}) {
  const requests: { body: unknown; headers: Headers }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const raw = new Uint8Array(await req.arrayBuffer());
    const text = req.headers.get("content-encoding") === "gzip"
      ? new TextDecoder().decode(gunzipSync(raw))
      : new TextDecoder().decode(raw);
    requests.push({ body: JSON.parse(text), headers: req.headers });
    const status = statuses.shift() ?? 200;
    return new Response(status === 200 ? '{"partialSuccess":{}}' : "busy", { status, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/v1/traces`,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function spanCount(body: unknown): number {
  return (body as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }).resourceSpans[0]
    .scopeSpans[0].spans.length;
}

Deno.test("OTLP delivery", async (t) => {
  await t.step("batches, gzips and sends the headers", async () => {
    await using ep = fakeEndpoint([]);
    const d = new SpanDelivery({
      url: ep.url,
      headers: { authorization: "Bearer t" },
      resource: RESOURCE,
      scope: SCOPE,
      maxBatch: 4,
      flushMs: 50,
    });
    for (let i = 0; i < 10; i++) assert.equal(d.offer(span(i)), true);
    const stats = await d.close();
    assert.deepEqual([stats.sent, stats.dropped, stats.failed], [10, 0, 0]);
    assert.deepEqual(ep.requests.map((r) => spanCount(r.body)), [4, 4, 2]);
    for (const r of ep.requests) {
      assert.equal(r.headers.get("content-encoding"), "gzip");
      assert.equal(r.headers.get("content-type"), "application/json");
      assert.equal(r.headers.get("authorization"), "Bearer t");
    }
  });
  await t.step(
    "protobuf: its content type; partial success and errors read from protobuf",
    async () => {
      // ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "x"}}, and a
      // google.rpc.Status{code: 3, message: "bad span"}.
      const partial = new Uint8Array([0x0a, 0x05, 0x08, 0x03, 0x12, 0x01, 0x78]);
      const status = new Uint8Array([
        0x08,
        0x03,
        0x12,
        0x08,
        ...new TextEncoder().encode("bad span"),
      ]);
      const answers = [new Response(partial), new Response(status, { status: 400 })];
      const seen: string[] = [];
      const fetch = (_url: string | URL | Request, init?: RequestInit) => {
        seen.push(new Headers(init?.headers).get("content-type") ?? "");
        const r = answers.shift()!;
        const headers = { "content-type": "application/x-protobuf" };
        return Promise.resolve(new Response(r.body, { status: r.status, headers }));
      };
      const d = new SpanDelivery({
        url: "http://127.0.0.1:1/v1/traces",
        protocol: "http/protobuf",
        resource: RESOURCE,
        scope: SCOPE,
        maxBatch: 5,
        flushMs: 10,
        fetch: fetch as typeof globalThis.fetch,
      });
      for (let i = 0; i < 10; i++) d.offer(span(i));
      const stats = await d.close();
      assert.deepEqual(seen, ["application/x-protobuf", "application/x-protobuf"]);
      assert.deepEqual([stats.sent, stats.failed], [2, 8]);
      assert.equal(stats.lastError, "http://127.0.0.1:1/v1/traces: HTTP 400 bad span");
    },
  );
  await t.step("429 and 5xx are retried with backoff until accepted", async () => {
    await using ep = fakeEndpoint([429, 503, 500]);
    const d = new SpanDelivery({
      url: ep.url,
      resource: RESOURCE,
      scope: SCOPE,
      flushMs: 10,
      backoffMs: 20,
    });
    d.offer(span(1));
    const stats = await d.close();
    assert.deepEqual([stats.sent, stats.retries, stats.failed], [1, 3, 0]);
    assert.equal(ep.requests.length, 4);
  });
  await t.step("a 400 is not retried: the batch counts as failed, with the reason", async () => {
    await using ep = fakeEndpoint([400]);
    const d = new SpanDelivery({ url: ep.url, resource: RESOURCE, scope: SCOPE, flushMs: 10 });
    d.offer(span(1));
    const stats = await d.close();
    assert.deepEqual([stats.sent, stats.failed, stats.retries], [0, 1, 0]);
    assert.match(stats.lastError ?? "", /HTTP 400 busy/);
  });
  await t.step("a full queue drops and counts, and offer never waits", async () => {
    // Nothing listens on this port: every attempt is a connection error, retried.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const d = new SpanDelivery({
      url: `http://127.0.0.1:${port}/v1/traces`,
      resource: RESOURCE,
      scope: SCOPE,
      maxQueue: 8,
      maxBatch: 4,
      flushMs: 10,
      backoffMs: 10,
    });
    const t0 = performance.now();
    let accepted = 0;
    for (let i = 0; i < 1000; i++) if (d.offer(span(i))) accepted++;
    assert.ok(performance.now() - t0 < 500, "offer must not wait");
    const stats = await d.close(300);
    assert.ok(accepted <= 8 + 4, `at most the queue and one batch held, got ${accepted}`);
    assert.equal(stats.dropped, 1000 - accepted);
    assert.equal(stats.sent, 0);
    assert.equal(stats.failed, accepted);
    assert.match(stats.lastError ?? "", new RegExp(`127\\.0\\.0\\.1:${port}`));
  });
  await t.step("put waits for room instead of dropping", async () => {
    await using ep = fakeEndpoint([]);
    const d = new SpanDelivery({
      url: ep.url,
      resource: RESOURCE,
      scope: SCOPE,
      maxQueue: 4,
      maxBatch: 2,
      flushMs: 5,
    });
    for (let i = 0; i < 50; i++) await d.put(span(i));
    const stats = await d.close();
    assert.deepEqual([stats.sent, stats.dropped], [50, 0]);
  });
  await t.step("a down endpoint that comes back gets the queued spans", async () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const d = new SpanDelivery({
      url: `http://127.0.0.1:${port}/v1/traces`,
      resource: RESOURCE,
      scope: SCOPE,
      flushMs: 10,
      backoffMs: 20,
      maxBackoffMs: 100,
    });
    d.offer(span(1));
    d.offer(span(2));
    await new Promise((r) => setTimeout(r, 300));
    const received: unknown[] = [];
    const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
      received.push(JSON.parse(new TextDecoder().decode(gunzipSync(
        new Uint8Array(await req.arrayBuffer()),
      ))));
      return new Response("{}");
    });
    const stats = await d.close(5000);
    await server.shutdown();
    assert.equal(stats.sent, 2);
    assert.ok(stats.retries > 0);
    assert.equal(received.length, 1);
  });
});

Deno.test("a subagent's trace links to the tool call that spawned it", async () => {
  // Claude Code under one session header: a main thread whose answer calls Task, the
  // subagent's own requests, then the main thread resending the call with its result.
  const text = await Deno.readTextFile(
    new URL("../testdata/viewer_threads_traffic.jsonl", import.meta.url),
  );
  const builder = new SpanBuilder({
    rendererFor: rendererChooser(builtinRenderers, undefined),
    content: false,
    sessionHeaders: builtinTargets.flatMap((t) => t.sessionHeaders ?? []),
  });
  const spans: Span[] = [];
  for (const line of text.split("\n").filter((l) => l.trim() !== "")) {
    spans.push(...builder.add(normalize(JSON.parse(line))));
  }
  spans.push(...builder.finish());
  const invoke = spans.filter((s) => s.name.startsWith("invoke_agent"));
  assert.equal(invoke.length, 1, spans.map((s) => s.name).join(", "));
  const [agent] = invoke;
  assert.equal(agent.name, "invoke_agent Task");
  assert.equal(agent.attributes["gen_ai.operation.name"], "invoke_agent");
  const link = agent.links?.[0];
  assert.ok(link, "the span has a link");
  // The link points to a model call span of another trace: the main thread's call.
  const spawning = spans.find((s) => s.spanId === link.spanId);
  assert.ok(spawning && spawning.traceId === link.traceId && spawning.traceId !== agent.traceId);
  assert.match(spawning.name, /^chat /);
  // The invoke_agent span is in the subagent's trace, from its first request on.
  const sub = spans.filter((s) => s.traceId === agent.traceId && s !== agent);
  assert.ok(sub.length > 0);
  assert.equal(agent.startNs, sub.map((s) => s.startNs).reduce((a, b) => a < b ? a : b));
  // Encoded per the spec: links with hex ids and attributes.
  const body = JSON.parse(encodeTraces(RESOURCE, SCOPE, [agent]));
  const encoded = body.resourceSpans[0].scopeSpans[0].spans[0];
  assert.equal(encoded.kind, 1);
  assert.deepEqual(encoded.links, [{
    traceId: link.traceId,
    spanId: link.spanId,
    attributes: [{ key: "probe.link.type", value: { stringValue: "spawned_by" } }],
  }]);
});
