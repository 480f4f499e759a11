/**
 * Secrets that a stream's pieces show only read together (lib/redact_split.ts): what the HAR,
 * the viewer and OTLP show of a `--keep-secrets` capture, as lib/addon.py masks the JSONL.
 */
import assert from "node:assert/strict";
import { redactEntry } from "../lib/redact_entry.ts";
import { maskSplitSecrets } from "../lib/redact_split.ts";
import type { Entry } from "../lib/types.ts";

const KEY = "sk-proj-SPLITsecret0123456789abcdef";
const sse = (events: unknown[]) =>
  events.map((e) => `event: e\ndata: ${JSON.stringify(e)}\n\n`).join("");
const dataOf = (body: string) =>
  body.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));

Deno.test("maskSplitSecrets masks what a stream's pieces show joined", async (t) => {
  await t.step("a key split inside its prefix and body, and the same key whole", () => {
    const deltas = ["key: s", KEY.slice(1, 12), KEY.slice(12), " and ", KEY, "."];
    const [body] = maskSplitSecrets([sse(deltas.map((delta) => ({ type: "d", delta })))]);
    const text = dataOf(body).map((e) => e.delta).join("");
    // The key sent whole is the per-event masking's: this leaves it to that.
    assert.equal(text, `key: [REDACTED] and ${KEY}.`);
    assert.deepEqual(dataOf(body).slice(1, 3).map((e) => e.delta), ["", ""]);
  });
  await t.step("a secret field of JSON streamed in pieces", () => {
    const pieces = ['{"url": "x", "pass', 'word": "hun', "ter2", '", "user": "me"}'];
    const [body] = maskSplitSecrets([sse(pieces.map((p) => ({ partial_json: p })))]);
    const args = dataOf(body).map((e) => e.partial_json).join("");
    assert.deepEqual(JSON.parse(args), { url: "x", password: "[REDACTED]", user: "me" });
    assert.ok(!body.includes("hun") && !body.includes("ter2"), body);
  });
  await t.step("an escaped quote inside the field's value ends it only where JSON does", () => {
    const pieces = ['{"pass', 'word": "a\\"b', 'c", "user": "me"}'];
    const [body] = maskSplitSecrets([sse(pieces.map((p) => ({ partial_json: p })))]);
    const args = dataOf(body).map((e) => e.partial_json).join("");
    assert.deepEqual(JSON.parse(args), { password: "[REDACTED]", user: "me" });
  });
  await t.step("pieces of parallel streams (tool calls by index) are read apart", () => {
    const deltas: [number, string][] = [[0, '{"pass'], [1, '{"q": "s'], [0, 'word": "h-9"}'], [
      1,
      `${KEY.slice(1)}"}`,
    ]];
    const [body] = maskSplitSecrets([
      sse(
        deltas.map(([index, args]) => ({
          choices: [{
            index: 0,
            delta: { tool_calls: [{ index, function: { arguments: args } }] },
          }],
        })),
      ),
    ]);
    const calls = ["", ""];
    for (const e of dataOf(body)) {
      const call = e.choices[0].delta.tool_calls[0];
      calls[call.index] += call.function.arguments;
    }
    assert.deepEqual(calls.map((c) => JSON.parse(c)), [{ password: "[REDACTED]" }, {
      q: "[REDACTED]",
    }]);
  });
  await t.step("a file's JSON that streamed tool arguments write, in pieces", () => {
    const pieces = ['{"content": "{\\"pass', 'word\\": \\"h-11\\"}", "password', '": "h-12"}'];
    const [body] = maskSplitSecrets([sse(pieces.map((p) => ({ partial_json: p })))]);
    const args = JSON.parse(dataOf(body).map((e) => e.partial_json).join(""));
    assert.deepEqual(args, { content: '{"password": "[REDACTED]"}', password: "[REDACTED]" });
  });
  await t.step("a text without secrets is the same array, byte for byte", () => {
    const texts = [sse(["the task-", "runner ", "uses mask-", "ing; s", "k-short", " AIz", "a."]
      .map((delta) => ({ delta })))];
    assert.equal(maskSplitSecrets(texts), texts);
  });
});

Deno.test("redactEntry masks keys split across SSE events, JSON chunks and messages", async (t) => {
  const none = (h: Record<string, string>) => h;
  const base: Entry = {
    timestamp: 1,
    request: { method: "POST", url: "http://127.0.0.1/v1/x", headers: {}, body: null },
    response: { status_code: 200, headers: {}, body: null },
  };
  await t.step("an SSE body", () => {
    const body = sse(["use ", KEY.slice(0, 10), KEY.slice(10), " now"].map((delta) => ({ delta })));
    const out = redactEntry({ ...base, response: { ...base.response!, body } }, none);
    const text = dataOf(out.response!.body as string).map((e) => e.delta).join("");
    assert.equal(text, "use [REDACTED] now");
  });
  await t.step("a JSON array of stream chunks", () => {
    const body = ["a ", KEY.slice(0, 10), KEY.slice(10)].map((text) => ({ parts: [{ text }] }));
    const out = redactEntry({ ...base, response: { ...base.response!, body } }, none);
    const chunks = out.response!.body as { parts: { text: string }[] }[];
    assert.equal(chunks.map((c) => c.parts[0].text).join(""), "a [REDACTED]");
  });
  await t.step("one side's WebSocket messages, the other side's apart", () => {
    const msg = (delta: string) => JSON.stringify({ delta });
    const out = redactEntry({
      ...base,
      websocket: [
        { from: "server", t: 1, text: msg(KEY.slice(0, 10)) },
        { from: "client", t: 2, text: msg("x") },
        { from: "server", t: 3, text: msg(KEY.slice(10)) },
        { from: "client", t: 4, text: msg(KEY.slice(10)) },
      ],
    }, none);
    const texts = out.websocket!.map((m) => JSON.parse(m.text!).delta);
    assert.deepEqual(texts, ["[REDACTED]", "x", "", KEY.slice(10)]);
  });
});

Deno.test("redactEntry masks bodies and binary messages kept as base64, in their bytes", () => {
  const bytes = (s: string) => btoa(s);
  const raw = '\xff{"password":"pw-b64","key":"sk-proj-B64secret0123456789abcdef"}';
  const entry: Entry = {
    timestamp: 1,
    request: {
      method: "POST",
      url: "http://127.0.0.1/v1/x",
      headers: {},
      body: bytes(raw),
      body_encoding: "base64",
    },
    response: { status_code: 200, headers: {}, body: null },
    websocket: [{ from: "server", t: 1, base64: bytes(`\x00${raw}`) }],
  };
  const out = redactEntry(entry, (h) => h);
  const body = atob(out.request.body as string);
  assert.equal(body, '\xff{"password":"[REDACTED]","key":"[REDACTED]"}');
  assert.equal(atob(out.websocket![0].base64!), `\x00${body}`);
});

Deno.test("redactEntry reads an SSE event's JSON split across data lines joined, as the spec does", () => {
  const first = 'data: {"choices":[{"index":0,"delta":{"content":"key s"}}]}';
  for (const nl of ["\n", "\r\n"]) {
    const body = [
      first,
      "",
      'data: {"choices":[{"index":0,"delta":{"content":',
      `data: "${KEY.slice(1)}"}}]}`,
      "",
      "event: login",
      'data: {"user": "me",',
      "id: 7",
      'data: "password":',
      'data:  "pw-lines"}',
      "",
      'data: {"note": "plain",',
      'data: "n": 1}',
      "",
      "",
    ].join(nl);
    const entry: Entry = {
      timestamp: 1,
      request: { method: "POST", url: "http://127.0.0.1/v1/x", headers: {}, body: null },
      response: { status_code: 200, headers: {}, body },
    };
    const got = redactEntry(entry, (h) => h).response!.body as string;
    assert.ok(!got.includes(KEY.slice(1)) && !got.includes("pw-lines"), got);
    assert.ok(got.startsWith(first.replace("key s", "key [REDACTED]")), got);
    const login = ["event: login", 'data: {"user":"me","password":"[REDACTED]"}', "id: 7", ""];
    assert.ok(got.includes(login.join(nl)), got);
    // Events without secrets keep their bytes, the lines of their data too.
    assert.ok(got.includes(['data: {"note": "plain",', 'data: "n": 1}'].join(nl)), got);
  }
});

Deno.test("keys and names written with unicode escapes are read plain (as the addon does)", async (t) => {
  // No JSON encoder escapes ASCII letters: a hostile server hiding a key or a name.
  const esc = `\\u0073${KEY.slice(1)}`; // \u0073k-proj-…, as the JSON text holds it
  const body = [
    `{"index":0,"delta":"k1: ${esc}"}`,
    '{"index":1,"delta":"\\u0073"}',
    `{"index":1,"delta":"${KEY.slice(1).replaceAll("p", "\\u0070")}"}`,
    '{"pass\\u0077ord": "pw-esc1"}',
    // JSON written in a string: the escape is escaped once more.
    JSON.stringify({ delta: '{"pass\\u0077ord": "pw-esc2"}' }),
  ].map((e) => `data: ${e}\n\n`).join("");
  const base: Entry = {
    timestamp: 1,
    request: {
      method: "POST",
      url: "http://127.0.0.1/v1/x",
      headers: {},
      body: { arguments: '{"api\\u004bey": "ak-esc", "n": "\\u0041"}' },
    },
    response: { status_code: 200, headers: {}, body },
    websocket: [
      { from: "client", t: 1, text: '{"d": "\\u0073"}' },
      { from: "client", t: 2, text: `{"d": "${KEY.slice(1)}"}` },
    ],
  };
  const out = redactEntry(base, (h) => h);
  await t.step("an SSE body", () => {
    const events = dataOf(out.response!.body as string);
    const decoded = JSON.stringify(events);
    for (const secret of [KEY.slice(1), "pw-esc1", "pw-esc2"]) {
      assert.ok(!decoded.includes(secret), decoded);
    }
    assert.equal(events[0].delta, "k1: [REDACTED]");
    assert.deepEqual(events[3], { password: "[REDACTED]" });
    assert.deepEqual(JSON.parse(events[4].delta), { password: "[REDACTED]" });
  });
  await t.step("tool arguments in a JSON body", () => {
    const args = (out.request.body as { arguments: string }).arguments;
    assert.deepEqual(JSON.parse(args), { apiKey: "[REDACTED]", n: "A" });
  });
  await t.step("a WebSocket key in two messages", () => {
    const texts = out.websocket!.map((m) => JSON.parse(m.text!).d).join("");
    assert.ok(!texts.includes(KEY.slice(1)), texts);
  });
  await t.step(
    "escapes that encoders write (non-ASCII, Go's \\u003c), no secret: as it was",
    () => {
      const plain = 'data: {"t": "caf\\u00e9 \\u003cb\\u003e \\u0041 \\\\u0041"}\n\n';
      const entry = { ...base, response: { ...base.response!, body: plain } };
      assert.equal(redactEntry(entry, (h) => h).response!.body, plain);
    },
  );
});

Deno.test("redactEntry reads a stream kept as base64 (a byte not UTF-8) as the addon does", () => {
  const head = ': \xff\n\ndata: {"delta": "caf\xc3\xa9 \xfe"}\n\n';
  const events = [{ delta: "k: s" }, { delta: KEY.slice(1) }, { args: '{"pass' }, {
    args: 'word": "pw-8"}',
  }];
  // An event re-encoded whose JSON escapes a character that takes more than a byte.
  const last = 'data: {"password": "pw-9", "t": "\\u2019"}\n\n';
  const entry: Entry = {
    timestamp: 1,
    request: { method: "POST", url: "http://127.0.0.1/v1/x", headers: {}, body: null },
    response: {
      status_code: 200,
      headers: {},
      body: btoa(head + sse(events) + last),
      body_encoding: "base64",
    },
  };
  const got = atob(redactEntry(entry, (h) => h).response!.body as string);
  const want = head + sse([{ delta: "k: [REDACTED]" }, { delta: "" }, { args: '{"pass' }, {
    args: 'word": "[REDACTED]"}',
  }]);
  assert.equal(got.slice(0, want.length), want);
  assert.deepEqual(JSON.parse(got.slice(want.length + 6)), { password: "[REDACTED]", t: "\u2019" });
});
