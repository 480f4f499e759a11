/**
 * HAR export and import: exports validated against the HAR 1.2 JSON Schema (har-schema with
 * Ajv), JSONL → HAR → entries round trips, redaction, streaming, and the InputError /
 * onMalformed contract of the HAR reader.
 */
import assert from "node:assert/strict";
// The validator and schema are test-only; pinned in deno.json.
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import draft06 from "ajv/dist/refs/json-schema-draft-06.json" with { type: "json" };
import harSchemas from "har-schema";
import { analyzeFile } from "../lib/analyze.ts";
import { InputError } from "../lib/errors.ts";
import { exportHar } from "../lib/export.ts";
import {
  entryToHarEntry,
  type Har,
  type HarEntry,
  harUrl,
  isoMicros,
  queryString,
  writeHar,
} from "../lib/har.ts";
import {
  harEntryToEntry,
  isHarFile,
  MAX_HAR_BYTES,
  parseIsoSeconds,
  readCaptureEntries,
  readHarEntries,
} from "../lib/har_read.ts";
import { readEntries } from "../lib/jsonl.ts";
import type { Entry } from "../lib/types.ts";
import { VERSION } from "../lib/version.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { concat } from "./tools/data.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const testdata = new URL("../testdata/", import.meta.url);
const fixture = (name: string) => new URL(name, testdata).pathname;
const SAMPLE = fixture("sample_traffic.jsonl");
const HOSTILE = fixture("hostile_traffic.jsonl");
const ROUNDTRIP = fixture("har_roundtrip.jsonl");
const BROWSER = fixture("har_browser.har");
const MALFORMED = fixture("har_malformed.har");
const NOW = new Date("2026-02-05T09:00:00.000Z");

// ---------------------------------------------------------------------------------------------
// Helpers

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** The HAR 1.2 schema (draft-06, from har-schema) compiled with Ajv and its formats. */
function harValidator(): Validate {
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addMetaSchema(draft06);
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  const schemas = harSchemas as unknown as Record<string, object>;
  for (const [name, schema] of Object.entries(schemas)) {
    if (name !== "har") ajv.addSchema(schema);
  }
  return ajv.compile(schemas.har) as Validate;
}
const validateHar = harValidator();

/**
 * Schema validity plus what har-schema cannot check (it spells minimums `min`, which JSON
 * Schema ignores): time ≥ 0 and the sum of the timings, send/wait/receive ≥ 0, the optional
 * timings ≥ -1.
 */
function assertValidHar(har: unknown): void {
  assert.ok(validateHar(har), JSON.stringify(validateHar.errors, null, 2));
  for (const e of (har as Har).log.entries) {
    const t = e.timings;
    for (const k of ["send", "wait", "receive"] as const) assert.ok(t[k] >= 0, `${k} ${t[k]}`);
    for (const k of ["blocked", "dns", "connect", "ssl"] as const) {
      assert.ok(t[k] === undefined || t[k]! >= -1, `${k} ${t[k]}`);
    }
    assert.ok(e.time >= 0);
    const sum = [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive]
      .filter((v): v is number => v !== undefined && v > 0).reduce((a, b) => a + b, 0);
    assert.equal(e.time, Math.round(sum * 1e3) / 1e3);
  }
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "probe-har-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

async function jsonlEntries(path: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const { entry } of readEntries(path, (l, r) => assert.fail(`line ${l}: ${r}`))) {
    out.push(entry);
  }
  return out;
}

async function harEntries(path: string, warnings: string[] = []): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const { entry } of readHarEntries(path, (l, r) => warnings.push(`${l}: ${r}`))) {
    out.push(entry);
  }
  return out;
}

async function exportTo(dir: string, input: string, redact: string[] = []) {
  const output = `${dir}/out.har`;
  const warnings: string[] = [];
  const result = await exportHar({
    input,
    output,
    redactHeaders: redact,
    warn: (l) => warnings.push(l),
  });
  const text = await Deno.readTextFile(output);
  return { result, output, text, har: JSON.parse(text) as Har, warnings };
}

async function report(input: string): Promise<string> {
  return await withTempDir(async (dir) => {
    const output = `${dir}/report.md`;
    await analyzeFile({
      input,
      output,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: (l) => assert.fail(l),
      now: NOW,
      sourceLabel: "capture",
    });
    return await Deno.readTextFile(output);
  });
}

async function* iterate<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

// ---------------------------------------------------------------------------------------------
// Export

Deno.test("entryToHarEntry conversion", async (t) => {
  await t.step("a full entry: timing, custom fields, JSON and SSE bodies", () => {
    const entry: Entry = {
      timestamp: 1770280656.123456,
      id: "a1",
      proxy: "api",
      request: {
        method: "POST",
        url: "https://api.example.com/v1/responses?alt=sse&q=a+b%21",
        headers: { "content-type": "application/json", "x-two": "1, 2" },
        body: { model: "m", input: "hi" },
      },
      response: {
        status_code: 200,
        headers: { "content-type": "text/event-stream" },
        body: "data: 1\n\n",
        body_size: 9,
      },
      timing: { start: 1770280656.123456, first_byte: 1770280656.5, end: 1770280657.25 },
    };
    const expected: HarEntry = {
      startedDateTime: "2026-02-05T08:37:36.123456Z",
      time: 1126.544,
      request: {
        method: "POST",
        url: "https://api.example.com/v1/responses?alt=sse&q=a+b%21",
        httpVersion: "HTTP/1.1",
        cookies: [],
        headers: [
          { name: "content-type", value: "application/json" },
          { name: "x-two", value: "1, 2" },
        ],
        queryString: [{ name: "alt", value: "sse" }, { name: "q", value: "a b!" }],
        headersSize: -1,
        bodySize: 26,
        postData: { mimeType: "application/json", text: '{"model":"m","input":"hi"}' },
      },
      response: {
        status: 200,
        statusText: "OK",
        httpVersion: "HTTP/1.1",
        cookies: [],
        headers: [{ name: "content-type", value: "text/event-stream" }],
        content: { size: 9, mimeType: "text/event-stream", text: "data: 1\n\n" },
        redirectURL: "",
        headersSize: -1,
        bodySize: 9,
      },
      cache: {},
      timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 376.544, receive: 750 },
      _id: "a1",
      _proxy: "api",
      _timing: { start: 1770280656.123456, first_byte: 1770280656.5, end: 1770280657.25 },
    };
    assert.deepEqual(entryToHarEntry(entry), expected);
  });

  await t.step("no response: status 0, _error, _incomplete; binary request body", () => {
    const entry: Entry = {
      timestamp: 1700000000,
      request: {
        method: "PUT",
        url: "https://x.example/up",
        headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
        body: "/wA=",
        body_encoding: "base64",
      },
      response: null,
      error: "upstream refused",
      incomplete: true,
    };
    const har = entryToHarEntry(entry);
    assert.deepEqual(har.request.postData, {
      mimeType: "application/octet-stream",
      text: "/wA=",
      _encoding: "base64",
      comment: "text is base64 of a binary body",
    });
    assert.equal(har.request.bodySize, -1, "a decoded Content-Encoding: wire size unknown");
    assert.deepEqual(har.response, {
      status: 0,
      statusText: "",
      httpVersion: "",
      cookies: [],
      headers: [],
      content: { size: 0, mimeType: "" },
      redirectURL: "",
      headersSize: -1,
      bodySize: -1,
    });
    assert.equal(har._error, "upstream refused");
    assert.equal(har._incomplete, true);
    assert.equal(har.time, 0);
    assert.deepEqual(har.timings, {
      blocked: -1,
      dns: -1,
      connect: -1,
      ssl: -1,
      send: 0,
      wait: 0,
      receive: 0,
    });
    assert.equal(har._timing, undefined);
  });

  await t.step("binary response: base64 content; WebSocket messages", () => {
    const har = entryToHarEntry({
      timestamp: 1700000000,
      request: { method: "GET", url: "wss://x.example/ws", headers: {}, body: null },
      response: {
        status_code: 101,
        headers: { "content-type": "image/png" },
        body: "iVBORw0KGgo=",
        body_encoding: "base64",
      },
      websocket: [
        { from: "client", t: 1700000000.5, text: "hi" },
        { from: "server", t: 1700000001, base64: "AAEC" },
      ],
    });
    assert.deepEqual(har.response.content, {
      size: 8,
      mimeType: "image/png",
      text: "iVBORw0KGgo=",
      encoding: "base64",
    });
    assert.equal(har.response.statusText, "Switching Protocols");
    assert.equal(har.request.postData, undefined);
    assert.equal(har.request.bodySize, 0);
    assert.equal(har._resourceType, "websocket");
    assert.deepEqual(har._webSocketMessages, [
      { type: "send", time: 1700000000.5, opcode: 1, data: "hi" },
      { type: "receive", time: 1700000001, opcode: 2, data: "AAEC" },
    ]);
  });

  await t.step("harUrl percent-encodes only what a URI cannot hold", () => {
    assert.equal(harUrl("https://h/p?a=1&b=%2F#f"), "https://h/p?a=1&b=%2F#f");
    assert.equal(harUrl("https://h/p?key=[REDACTED]"), "https://h/p?key=%5BREDACTED%5D");
    assert.equal(harUrl("https://[::1]:8080/a b?x=é%"), "https://[::1]:8080/a%20b?x=%C3%A9%25");
    assert.equal(harUrl("https://h/p#a#b"), "https://h/p#a%23b");
  });

  await t.step("queryString decodes names and values", () => {
    assert.deepEqual(queryString("https://h/p?a=1&&b&c=x+y%20z#frag"), [
      { name: "a", value: "1" },
      { name: "b", value: "" },
      { name: "c", value: "x y z" },
    ]);
    assert.deepEqual(queryString("https://h/p"), []);
  });

  await t.step("isoMicros and parseIsoSeconds agree to the microsecond", () => {
    assert.equal(isoMicros(1770280656.1), "2026-02-05T08:37:36.100000Z");
    assert.equal(isoMicros(1770280656.123456), "2026-02-05T08:37:36.123456Z");
    assert.equal(isoMicros(0.0000004), "1970-01-01T00:00:00.000000Z");
    assert.equal(isoMicros(Number.NaN), "1970-01-01T00:00:00.000000Z");
    for (const s of [1770280656.1, 1770280656.123456, 1700000001.5, 1770280660.999999]) {
      assert.equal(parseIsoSeconds(isoMicros(s)), s);
    }
    assert.equal(parseIsoSeconds("2026-02-05T09:37:36.123456+01:00"), 1770280656.123456);
    assert.equal(parseIsoSeconds("2026-02-05T08:37:36.5-0030"), 1770282456.5);
    assert.equal(parseIsoSeconds("2026-02-05T08:37:36"), 1770280656);
    assert.equal(parseIsoSeconds("2026-02-05T08:37:36.1234567Z"), 1770280656.123457);
    assert.equal(parseIsoSeconds("yesterday"), null);
  });
});

Deno.test("writeHar streaming", async (t) => {
  await t.step("no entries: a valid HAR with an empty list", async () => {
    const chunks: Uint8Array[] = [];
    const n = await writeHar(
      iterate<Entry>([]),
      new WritableStream({ write: (c) => void chunks.push(c) }),
    );
    assert.equal(n, 0);
    const har = JSON.parse(new TextDecoder().decode(concat(chunks))) as Har;
    assert.deepEqual(har, {
      log: { version: "1.2", creator: { name: "probe", version: VERSION }, pages: [], entries: [] },
    });
    assertValidHar(har);
  });

  await t.step("writes while entries still arrive; the stream stays open", async () => {
    const total = 3000;
    let pulled = 0;
    let pulledAtFirstWrite = -1;
    const body = "x".repeat(1000);
    async function* many(): AsyncGenerator<Entry> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield {
          timestamp: 1700000000 + i,
          request: { method: "POST", url: `https://h/${i}`, headers: {}, body: { body } },
          response: { status_code: 200, headers: {}, body },
        };
      }
    }
    const chunks: Uint8Array[] = [];
    const stream = new WritableStream<Uint8Array>({
      write(c) {
        if (pulledAtFirstWrite === -1) pulledAtFirstWrite = pulled;
        chunks.push(c);
      },
    });
    const n = await writeHar(many(), stream, { comment: "streamed" });
    assert.equal(n, total);
    assert.ok(pulledAtFirstWrite > 0 && pulledAtFirstWrite < total, `${pulledAtFirstWrite}`);
    assert.ok(chunks.length > 1);
    assert.equal(stream.locked, false, "the lock is released, the stream is not closed");
    const har = JSON.parse(new TextDecoder().decode(concat(chunks))) as Har;
    assert.equal(har.log.comment, "streamed");
    assert.equal(har.log.entries.length, total);
    assert.equal(har.log.entries[2999].request.url, "https://h/2999");
    assertValidHar(har);
  });
});

Deno.test("exportHar", async (t) => {
  await t.step("the sample exports as a valid HAR 1.2", async () => {
    await withTempDir(async (dir) => {
      const { result, output, har, warnings, text } = await exportTo(dir, SAMPLE);
      assert.deepEqual(result, { entries: 3, output });
      assert.deepEqual(warnings, []);
      assertValidHar(har);
      assert.equal(har.log.version, "1.2");
      assert.deepEqual(har.log.creator, { name: "probe", version: VERSION });
      assert.deepEqual(
        har.log.entries.map((e) => [e.startedDateTime, e.request.method, e.response.status]),
        [
          ["2026-02-05T08:37:36.100000Z", "POST", 200],
          ["2026-02-05T08:37:40.300000Z", "POST", 200],
          ["2026-02-05T08:37:45.800000Z", "POST", 200],
        ],
      );
      const first = har.log.entries[0];
      assert.equal(first.response.content.mimeType, "text/event-stream; charset=utf-8");
      assert.match(first.response.content.text!, /^event: response\.created\ndata: /);
      assert.equal(first.response.content.encoding, undefined);
      assert.equal(first.request.postData?.mimeType, "application/json");
      assert.equal(JSON.parse(first.request.postData!.text!).model, "o4-mini");
      assert.ok(!text.includes("sk-proj-SAMPLEkey"), "the bearer token is redacted");
      const auth = first.request.headers.find((h) => h.name === "authorization");
      assert.equal(auth?.value, "Bearer [REDACTED]");
      assert.deepEqual(await listDir(dir), [
        "out.har",
      ]);
    });
  });

  await t.step("target headers are redacted too", async () => {
    await withTempDir(async (dir) => {
      const { text } = await exportTo(dir, SAMPLE, codex.redactedHeaders);
      assert.ok(!text.includes("org-sample123"));
      assert.match(text, /"name":"openai-organization","value":"\[REDACTED\]"/);
    });
  });

  await t.step("the hostile capture: valid, and no secret survives", async () => {
    await withTempDir(async (dir) => {
      const { har, text } = await exportTo(dir, HOSTILE);
      assertValidHar(har);
      assert.ok(!text.includes("AIzaSECRET"));
      assert.ok(!text.includes("sk-ant-api03-SECRET"));
      const req = har.log.entries[0].request;
      assert.equal(req.url, "https://api.openai.com/v1/responses?key=%5BREDACTED%5D&alt=sse");
      assert.deepEqual(req.queryString, [
        { name: "key", value: "[REDACTED]" },
        { name: "alt", value: "sse" },
      ]);
      assert.deepEqual(req.headers.find((h) => h.name === "x-api-key"), {
        name: "x-api-key",
        value: "[REDACTED]",
      });
      assert.equal(har.log.entries[1].response.status, 500);
      assert.equal(har.log.entries[1].response.statusText, "Internal Server Error");
    });
  });

  await t.step("malformed lines are skipped with a warning", async () => {
    await withTempDir(async (dir) => {
      const input = `${dir}/in.jsonl`;
      const sample = await Deno.readTextFile(SAMPLE);
      await Deno.writeTextFile(input, `{"timestamp": 1, "request": {"method"\n${sample}`);
      const { result, warnings, har } = await exportTo(dir, input);
      assert.equal(result.entries, 3);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], new RegExp(`^warning: ${input}:1: skipping malformed line \\(`));
      assertValidHar(har);
    });
  });

  await t.step("a bad input is an InputError and leaves no file", async () => {
    await withTempDir(async (dir) => {
      const output = `${dir}/out.har`;
      await Deno.writeTextFile(output, "previous good HAR");
      for (const input of [`${dir}/missing.jsonl`, dir]) {
        await assert.rejects(
          exportHar({ input, output, redactHeaders: [], warn: () => {} }),
          InputError,
        );
      }
      assert.equal(await Deno.readTextFile(output), "previous good HAR");
      assert.deepEqual(await listDir(dir), [
        "out.har",
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips

Deno.test("HAR round trip", async (t) => {
  await t.step("sample: HAR entries equal the JSONL entries (redacted)", async () => {
    await withTempDir(async (dir) => {
      const { output } = await exportTo(dir, SAMPLE);
      const original = await jsonlEntries(SAMPLE);
      const back = await harEntries(output);
      const view = (e: Entry) => ({
        timestamp: e.timestamp,
        method: e.request.method,
        url: e.request.url,
        requestHeaders: e.request.headers,
        requestBody: e.request.body,
        status: e.response?.status_code,
        responseHeaders: e.response?.headers,
        responseBody: e.response?.body,
      });
      const redactedAuth = (e: Entry) => {
        const v = view(e);
        v.requestHeaders = { ...v.requestHeaders, authorization: "Bearer [REDACTED]" };
        return v;
      };
      assert.deepEqual(back.map(view), original.map(redactedAuth));
    });
  });

  await t.step("every field of probe's entries survives, exactly", async () => {
    await withTempDir(async (dir) => {
      const { har, output } = await exportTo(dir, ROUNDTRIP);
      assertValidHar(har);
      assert.deepEqual(await harEntries(output), await jsonlEntries(ROUNDTRIP));
    });
  });

  for (const [name, input] of [["sample", SAMPLE], ["round-trip fixture", ROUNDTRIP]]) {
    await t.step(`${name}: the report from HAR entries equals the JSONL report`, async () => {
      await withTempDir(async (dir) => {
        const { output } = await exportTo(dir, input, codex.redactedHeaders);
        const back = `${dir}/back.jsonl`;
        const lines = (await harEntries(output)).map((e) => JSON.stringify(e) + "\n");
        await Deno.writeTextFile(back, lines.join(""));
        assert.equal(await report(back), await report(input));
      });
    });

    await t.step(`${name}: analyze of the HAR itself equals the JSONL report`, async () => {
      await withTempDir(async (dir) => {
        const { output } = await exportTo(dir, input, codex.redactedHeaders);
        assert.equal(await report(output), await report(input));
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Import

Deno.test("readHarEntries browser HAR", async (t) => {
  const warnings: string[] = [];
  const entries = await harEntries(BROWSER, warnings);

  await t.step("no warnings, every entry read", () => {
    assert.deepEqual(warnings, []);
    assert.equal(entries.length, 6);
  });

  await t.step(
    "JSON request; base64 JSON response decoded; timings summed (ssl in connect)",
    () => {
      const start = 1770280656.123456;
      assert.deepEqual(entries[0], {
        timestamp: start,
        request: {
          method: "POST",
          url: "https://api.openai.com/v1/chat/completions",
          headers: {
            "content-type": "application/json",
            authorization: "Bearer sk-browser-SECRET",
            Accept: "application/json, text/plain",
          },
          body: { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] },
          body_size: 62,
        },
        response: {
          status_code: 200,
          headers: { "content-type": "application/json", "set-cookie": "a=1, b=2" },
          body: { id: "chatcmpl-1", choices: [] },
          body_size: 32,
        },
        timing: { start, first_byte: start + 222 / 1000, end: start + 250.5 / 1000 },
      });
    },
  );

  await t.step("SSE response kept as text", () => {
    const e = entries[1];
    assert.equal(e.timestamp, 1770280660.5);
    assert.equal(e.request.url, "https://api.openai.com/v1/chat/completions?stream=1");
    assert.deepEqual(e.request.body, { stream: true });
    assert.equal(
      e.response?.body,
      'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n' +
        'data: {"choices":[{"delta":{"content":"lo"}}]}\n\ndata: [DONE]\n\n',
    );
    assert.equal(e.response?.body_encoding, undefined);
    assert.deepEqual(e.timing, {
      start: 1770280660.5,
      first_byte: 1770280660.6,
      end: 1770280661.5,
    });
  });

  await t.step("binary response stays base64; all-zero timings give no timing", () => {
    assert.deepEqual(entries[2].response, {
      status_code: 200,
      headers: { "content-type": "image/png" },
      body: "iVBORw0KGgo=",
      body_encoding: "base64",
      body_size: 8,
    });
    assert.equal(entries[2].timing, undefined);
  });

  await t.step("failed request: no response, error from response._error; form params", () => {
    assert.deepEqual(entries[3], {
      timestamp: 1770280662,
      request: {
        method: "POST",
        url: "https://auth.example.com/token",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "a%20b=1%262&c=3",
        body_size: 15,
      },
      response: null,
      error: "net::ERR_CONNECTION_REFUSED",
    });
  });

  await t.step("WebSocket messages; control frames dropped", () => {
    assert.deepEqual(entries[4].websocket, [
      { from: "client", t: 1770280663.5, text: "hello" },
      { from: "server", t: 1770280663.75, base64: "AAEC" },
    ]);
    assert.equal(entries[4].response?.status_code, 101);
  });

  await t.step("base64 text that is not UTF-8 stays base64", () => {
    assert.equal(entries[5].response?.body, "Y2Fm6Q==");
    assert.equal(entries[5].response?.body_encoding, "base64");
  });
});

Deno.test("readHarEntries bad input", async (t) => {
  await t.step(
    "malformed entries go to onMalformed with their index; the rest is read",
    async () => {
      const warnings: string[] = [];
      const entries = await harEntries(MALFORMED, warnings);
      assert.equal(entries.length, 1);
      assert.equal(entries[0].request.url, "https://api.example.com/v1/models");
      assert.deepEqual(entries[0].response?.body, { data: [] });
      assert.deepEqual(warnings, [
        "2: entry 2: not a JSON object",
        "3: entry 3: missing startedDateTime",
        '4: entry 4: startedDateTime is not a date ("yesterday")',
        "5: entry 5: request.method is not a string",
        "6: entry 6: request.headers is not an array",
        "7: entry 7: response.content text is not valid base64",
        "8: entry 8: response.status is not a number",
        "9: entry 9: missing request",
      ]);
    },
  );

  await t.step("file problems are InputErrors naming the file", async () => {
    await withTempDir(async (dir) => {
      const write = async (name: string, content: string | Uint8Array) => {
        const path = `${dir}/${name}`;
        if (typeof content === "string") await Deno.writeTextFile(path, content);
        else await Deno.writeFile(path, content);
        return path;
      };
      // A sparse file: its size says too large before a byte is read.
      const huge = async (path: string) => {
        await Deno.writeTextFile(path, "{");
        await Deno.truncate(path, MAX_HAR_BYTES + 1);
        return path;
      };
      const cases: [string, string][] = [
        [`${dir}/missing.har`, "no such file; check the --input path"],
        [dir, "is a directory; pass the HAR file (e.g. traffic.har)"],
        [await write("empty.har", ""), "empty file; nothing was captured"],
        [await write("blank.har", " \n\t\n"), "empty file (only whitespace)"],
        [
          await write("bin.har", new Uint8Array([0x7b, 0, 1, 2])),
          "binary data (NUL byte at offset 1); this is not a HAR file",
        ],
        [
          await write("bad.har", '{"log": {"entries": ['),
          "not a HAR file: invalid JSON (Unexpected end of JSON input)",
        ],
        [fixture("har_not_har.json"), 'not a HAR file: no "log" object at the top'],
        [
          await write("noentries.har", '{"log": {}}'),
          'not a HAR file: "log.entries" is not an array',
        ],
        [fixture("har_no_entries.har"), "the HAR has no entries; nothing was captured"],
        [
          await huge(`${dir}/huge.har`),
          "too large to read as HAR (500.0 MiB; HAR files are read whole and the limit is 500 MiB)",
        ],
        [
          await write("allbad.har", '{"log": {"entries": [1, {"request": {}}]}}'),
          "no valid entries (2 malformed entries); is this a HAR file?",
        ],
      ];
      for (const [path, message] of cases) {
        const warnings: string[] = [];
        await assert.rejects(harEntries(path, warnings), (err: unknown) => {
          assert.ok(err instanceof InputError, String(err));
          assert.equal(err.message, `${path}: ${message}`);
          return true;
        });
      }
    });
  });

  await t.step("harEntryToEntry reports problems without throwing", () => {
    assert.deepEqual(harEntryToEntry(null), { problem: "not a JSON object" });
    assert.deepEqual(
      harEntryToEntry({
        startedDateTime: "2026-02-05T08:37:36Z",
        request: { method: "GET", url: "https://h/", headers: [{ value: "x" }] },
      }),
      { problem: "request.headers holds an item without a name" },
    );
  });
});

Deno.test("isHarFile sniffing", async (t) => {
  await withTempDir(async (dir) => {
    const file = async (name: string, text: string) => {
      await Deno.writeTextFile(`${dir}/${name}`, text);
      return `${dir}/${name}`;
    };
    const cases: [string, boolean][] = [
      [BROWSER, true],
      [await file("compact.json", '{"log":{"entries":[]}}'), true],
      [await file("bom.txt", '\uFEFF  \n {\n  "log" : {}}'), true],
      [SAMPLE, false],
      [await file("later.json", '{"timestamp": 1, "log": {}}'), false],
      [await file("array.json", '[{"log": {}}]'), false],
      [await file("empty.har", ""), false],
      [`${dir}/missing.har`, false],
      [dir, false],
    ];
    for (const [path, expected] of cases) {
      await t.step(`${path.replace(dir, "TMP")} → ${expected}`, async () => {
        assert.equal(await isHarFile(path), expected);
      });
    }
  });

  await t.step("readCaptureEntries picks the reader by content, not by name", async () => {
    await withTempDir(async (dir) => {
      const disguised = `${dir}/capture.jsonl`;
      await Deno.copyFile(BROWSER, disguised);
      const entries = [];
      for await (const e of readCaptureEntries(disguised, () => {})) entries.push(e);
      assert.equal(entries.length, 6);
      const jsonl = [];
      for await (const e of readCaptureEntries(SAMPLE, () => {})) jsonl.push(e);
      assert.equal(jsonl.length, 3);
    });
  });
});
