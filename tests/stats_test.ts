import assert from "node:assert/strict";
import { bodySize, CaptureStats, KeyTable, urlPath, utf8Length } from "../lib/stats.ts";
import type { Entry } from "../lib/types.ts";

function entry(over: Partial<Entry> & { body?: unknown; url?: string }): Entry {
  return {
    timestamp: over.timestamp ?? 0,
    request: {
      method: "POST",
      url: over.url ?? "https://h/v1/responses?x=1",
      headers: {},
      body: over.body ?? null,
    },
    response: over.response === undefined
      ? { status_code: 200, headers: {}, body: null }
      : over.response,
    ...(over.error ? { error: over.error } : {}),
    ...(over.incomplete ? { incomplete: true } : {}),
  };
}

Deno.test("KeyTable names and counts nested keys", async (t) => {
  await t.step("dots for objects, [] for array elements, types per path", () => {
    const keys = new KeyTable();
    keys.beginBody();
    keys.add(
      { model: "m", input: [{ role: "u", content: [{ text: "a" }] }, { role: null }], n: [1, 2] },
    );
    assert.deepEqual(
      Object.fromEntries(keys.top(99).map((k) => [k.path, [k.count, k.types]])),
      {
        model: [1, ["string"]],
        input: [1, ["array"]],
        "input[].role": [1, ["null", "string"]],
        "input[].content": [1, ["array"]],
        "input[].content[].text": [1, ["string"]],
        n: [1, ["array"]],
      },
    );
    assert.equal(keys.distinct, 6);
  });
  await t.step("a body counts a path once; top sorts by count then path", () => {
    const keys = new KeyTable();
    keys.beginBody();
    keys.add({ a: 1, list: [{ x: 1 }, { x: 2 }, { x: 3 }] });
    keys.beginBody();
    keys.add({ a: "s" });
    keys.add({ b: true }); // same body, second value
    assert.deepEqual(keys.top(3), [
      { path: "a", count: 2, types: ["number", "string"] },
      { path: "b", count: 1, types: ["boolean"] },
      { path: "list", count: 1, types: ["array"] },
    ]);
  });
  await t.step("long arrays: the first and last 32 elements are walked", () => {
    const keys = new KeyTable();
    keys.beginBody();
    const items: Record<string, number>[] = Array.from({ length: 100 }, () => ({ a: 1 }));
    items[31].first = 1;
    items[50].middle = 1;
    items[68].last = 1;
    keys.add({ items });
    assert.deepEqual(keys.top(9).map((k) => k.path), [
      "items",
      "items[].a",
      "items[].first",
      "items[].last",
    ]);
  });
  await t.step("SSE event data sits under []", () => {
    const keys = new KeyTable();
    keys.beginBody();
    keys.add({ type: "x", usage: { n: 1 } }, true);
    assert.deepEqual(keys.top(9).map((k) => k.path), ["[].type", "[].usage", "[].usage.n"]);
  });
  await t.step("distinct paths are bounded", () => {
    const keys = new KeyTable();
    keys.beginBody();
    const wide: Record<string, number> = {};
    for (let i = 0; i < 6000; i++) wide[`k${i}`] = i;
    keys.add(wide);
    assert.equal(keys.distinct, 5000);
    assert.equal(keys.truncated, true);
  });
});

Deno.test("utf8Length and bodySize count bytes", async (t) => {
  await t.step("ASCII, 2-, 3- and 4-byte characters", () => {
    for (const s of ["abc", "é", "€", "😀", "a😀é€", ""]) {
      assert.equal(utf8Length(s), new TextEncoder().encode(s).length, s);
    }
  });
  await t.step("CaptureStats counts large bodies exactly, in chunks past 1 Mi characters", () => {
    const big = "abc" + "😀é".repeat(400_000); // 1.2 Mi units; a pair straddles the edge
    const stats = new CaptureStats();
    stats.add({
      timestamp: 0,
      request: { method: "POST", url: "u", headers: {}, body: big },
      response: { status_code: 200, headers: {}, body: "x".repeat(300) + "é" },
    });
    assert.equal(stats.requestBytes, new TextEncoder().encode(big).length);
    assert.equal(stats.responseBytes, 302);
  });
  await t.step("body_size wins; JSON bodies measured as compact JSON; base64 decoded", () => {
    assert.equal(bodySize({ headers: {}, body: "x", body_size: 99 }), 99);
    assert.equal(bodySize({ headers: {}, body: { a: "é" } }), 10);
    assert.equal(bodySize({ headers: {}, body: "AAAA", body_encoding: "base64" }), 3);
    assert.equal(bodySize({ headers: {}, body: "AA==", body_encoding: "base64" }), 1);
    assert.equal(bodySize({ headers: {}, body: null }), 0);
  });
});

Deno.test("urlPath strips scheme, host and query", () => {
  assert.equal(urlPath("https://api.openai.com/v1/responses?x=1"), "/v1/responses");
  assert.equal(urlPath("http://127.0.0.1:8080"), "/");
  assert.equal(urlPath("/relative?q"), "/relative");
});

Deno.test("CaptureStats accumulates the summary", async (t) => {
  const stats = new CaptureStats();
  stats.add(entry({ timestamp: 10, body: { model: "a" } }));
  stats.add(entry({ timestamp: 12.25, body: { model: "b", stream: true } }), [
    { type: "x", data: '{"type":"x","delta":"d"}', lastEventId: "", complete: true },
    { type: "x", data: "[DONE]", lastEventId: "", complete: true },
  ]);
  stats.add(entry({ timestamp: 11, url: "https://h/v1/models", response: null, error: "refused" }));
  await t.step("counts, duration from first to last timestamp", () => {
    assert.equal(stats.requests, 3);
    assert.equal(stats.durationSeconds, 2.25);
  });
  await t.step("endpoints by count, statuses with failures named", () => {
    assert.deepEqual(stats.endpoints(), [
      { path: "/v1/responses", methods: ["POST"], count: 2 },
      { path: "/v1/models", methods: ["POST"], count: 1 },
    ]);
    assert.deepEqual(stats.statuses(), [["200", 2], ["error", 1]]);
    assert.deepEqual(stats.methods(), [["POST", 3]]);
  });
  await t.step("key tables count bodies, SSE keys start with []", () => {
    assert.deepEqual(stats.requestKeys.top(5), [
      { path: "model", count: 2, types: ["string"] },
      { path: "stream", count: 1, types: ["boolean"] },
    ]);
    assert.deepEqual(stats.responseKeys.top(5), [
      { path: "[].delta", count: 1, types: ["string"] },
      { path: "[].type", count: 1, types: ["string"] },
    ]);
  });
});

Deno.test("CaptureStats counts WebSocket messages", () => {
  const stats = new CaptureStats();
  stats.add({
    timestamp: 0,
    request: { method: "GET", url: "https://h/v1/responses", headers: {}, body: null },
    response: { status_code: 101, headers: {}, body: null },
    websocket: [
      { from: "client", t: 1, text: '{"type":"response.create","model":"m"}' },
      { from: "server", t: 2, text: '{"type":"response.created"}' },
      { from: "server", t: 3, base64: "AAAA" },
    ],
  });
  assert.equal(stats.requestBytes, 38);
  assert.equal(stats.responseBytes, 27 + 3);
  assert.deepEqual(stats.requestKeys.top(5).map((k) => k.path), ["[].model", "[].type"]);
});
