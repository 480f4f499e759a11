/**
 * End-to-end tests of the capture engine with real mitmdump processes (every version the
 * setup found) against the fake upstream: what the client receives, what the JSONL holds.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { CaptureSession } from "../lib/capture/session.ts";
import { ProbeError } from "../lib/errors.ts";
import type { Entry, ProxySpec, Target } from "../lib/types.ts";
import {
  binaryBytes,
  brotli,
  closedPort,
  makeTlsFiles,
  rawRequest,
  responseEvents,
  startConnectProxy,
  startFakeUpstream,
} from "./fake_upstream.ts";
import { findMitmdumps } from "./tools/paths.ts";
import {
  fp,
  startTempCapture,
  type TempCapture,
  type TempCaptureOptions,
} from "./tools/capture_helpers.ts";

const MITMDUMPS = await findMitmdumps();
const dec = new TextDecoder();

function target(proxies: ProxySpec[], redactedHeaders: string[] = []): Target {
  return {
    name: "test",
    description: "test target",
    reportTitle: "Test",
    renderer: "openai_responses",
    proxies,
    env: {},
    manualSteps: [],
    redactedHeaders,
  };
}

function proxy(name: string, upstream: string): ProxySpec {
  return { name, port: 0, upstream, purpose: `test proxy ${name}` };
}

async function readEntries(file: string): Promise<Entry[]> {
  const text = await Deno.readTextFile(file);
  assert.ok(text === "" || text.endsWith("\n"), "the file ends with a newline");
  return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

function startSession(
  mitmdump: string,
  proxies: ProxySpec[],
  extra: TempCaptureOptions = {},
): Promise<TempCapture> {
  return startTempCapture(
    mitmdump,
    target(proxies, ["x-custom-secret"]),
    "probe-capture-test-",
    extra,
  );
}

const responsesBody = (prompt: string, stream: boolean) =>
  JSON.stringify({
    model: "gpt-test",
    stream,
    input: [{ role: "user", type: "message", content: [{ type: "input_text", text: prompt }] }],
    api_key: "body-SECRET-555",
  });

for (const { path: mitmdump, version } of MITMDUMPS) {
  const tag = `[mitmproxy ${version}]`;

  Deno.test(`capture records JSON, SSE, gzip, br, binary, HEAD, 426 and redacts secrets ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)]);
    const auth = { authorization: "Bearer sk-SECRET-abc123", "x-custom-secret": "custom-SECRET" };

    // Each request goes once through the proxy and once directly: the bytes must match.
    const cases: [string, Parameters<typeof rawRequest>[1]][] = [
      ["json", {
        method: "POST",
        path: "/v1/responses",
        headers: { "content-type": "application/json", ...auth },
        body: responsesBody("json please", false),
      }],
      ["sse", {
        method: "POST",
        path: "/v1/responses?api-version=2024&key=query-SECRET-666",
        headers: { "content-type": "application/json", ...auth },
        body: responsesBody("stream please", true),
      }],
      ["gzip", {
        method: "POST",
        path: "/v1/responses",
        headers: { "content-type": "application/json", "x-fake": "gzip", ...auth },
        body: responsesBody("gzip please", true),
      }],
      ["br", {
        method: "POST",
        path: "/v1/responses?br",
        headers: { "content-type": "application/json", "content-encoding": "br", "x-fake": "br" },
        body: brotli(responsesBody("br please", false)),
      }],
      ["binary", { method: "GET", path: "/blob", headers: { "x-fake": "binary" } }],
      ["head", { method: "HEAD", path: "/" }],
      ["ws", {
        method: "GET",
        path: "/v1/responses",
        headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-version": "13" },
      }],
      ["oauth", {
        method: "POST",
        path: "/oauth/token",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=authorization_code&code=code-SECRET-777&code_verifier=ver-SECRET-888" +
          "&client_id=public-id",
      }],
    ];
    const viaProxy = new Map<string, Awaited<ReturnType<typeof rawRequest>>>();
    for (const [name, req] of cases) {
      const through = await rawRequest(s.url(), req);
      const direct = await rawRequest(upstream.url, req);
      assert.equal(through.status, direct.status, `${name}: status`);
      assert.deepEqual(through.body, direct.body, `${name}: body bytes identical to direct`);
      assert.equal(
        through.headers["content-encoding"],
        direct.headers["content-encoding"],
        `${name}: content-encoding`,
      );
      viaProxy.set(name, through);
    }
    assert.equal(viaProxy.get("ws")!.status, 426);
    assert.equal(viaProxy.get("gzip")!.headers["content-encoding"], "gzip");

    await s.session.stop();
    const entries = await readEntries(s.file);
    assert.equal(entries.length, cases.length);
    const byPath = (p: string, method = "POST") =>
      entries.find((e) => new URL(e.request.url).pathname === p && e.request.method === method)!;

    for (const e of entries) {
      assert.match(e.id!, /^[0-9a-f]{32}$/);
      assert.equal(e.proxy, "api");
      assert.equal(e.timestamp, e.timing!.start);
      assert.ok(e.timing!.first_byte! >= e.timing!.start);
      assert.ok(e.timing!.end! >= e.timing!.first_byte!);
      assert.equal(e.error, undefined);
      assert.equal(e.incomplete, undefined);
      assert.ok(e.request.url.startsWith(upstream.url), "URL rewritten to the upstream");
    }

    const json = entries.find((e) =>
      (e.request.body as { stream?: boolean })?.stream === false && !e.request.url.endsWith("?br")
    )!;
    assert.equal(json.response!.status_code, 200);
    assert.equal((json.response!.body as { status: string }).status, "completed");
    assert.equal(json.request.headers["authorization"], `Bearer ${fp("sk-SECRET-abc123")}`);
    assert.equal(json.request.headers["x-custom-secret"], fp("custom-SECRET"));
    assert.equal((json.request.body as { api_key: string }).api_key, fp("body-SECRET-555"));
    assert.equal(json.request.body_size, responsesBody("json please", false).length);

    const stream = entries.find((e) => e.request.url.includes("api-version"))!;
    assert.equal(typeof stream.response!.body, "string", "SSE kept as text");
    assert.equal(
      stream.response!.body,
      responseEvents("FAKE ANSWER to: stream please", "gpt-test").join(""),
    );
    assert.ok(stream.request.url.endsWith(`?api-version=2024&key=${fp("query-SECRET-666")}`));

    const gz = entries.find((e) => e.request.headers["x-fake"] === "gzip")!;
    assert.equal(gz.response!.headers["content-encoding"], "gzip");
    const gzText = dec.decode(gunzipSync(viaProxy.get("gzip")!.body));
    assert.equal(gz.response!.body, gzText, "gzip body stored decoded");
    assert.equal(gz.response!.body_size, new TextEncoder().encode(gzText).length);

    const br = entries.find((e) => e.request.url.endsWith("?br"))!;
    const brRequest = br.request.body as {
      input: { content: { text: string }[] }[];
      api_key: string;
    };
    assert.equal(brRequest.input[0].content[0].text, "br please", "br request body stored decoded");
    assert.equal(brRequest.api_key, fp("body-SECRET-555"));
    assert.equal(br.request.headers["content-encoding"], "br");
    assert.equal(br.response!.headers["content-encoding"], "br");
    assert.equal(
      (br.response!.body as { output: { content: { text: string }[] }[] }).output[0].content[0]
        .text,
      "FAKE ANSWER to: br please",
      "br response body stored decoded",
    );

    const bin = byPath("/blob", "GET");
    assert.equal(bin.response!.body_encoding, "base64");
    assert.deepEqual(
      Uint8Array.from(atob(bin.response!.body as string), (c) => c.charCodeAt(0)),
      binaryBytes(),
    );
    assert.equal(bin.request.body, null);

    const head = byPath("/", "HEAD");
    assert.equal(head.response!.status_code, 200);
    assert.equal(head.response!.body, null);

    assert.equal(byPath("/v1/responses", "GET").response!.status_code, 426);

    const oauth = byPath("/oauth/token");
    assert.equal(
      oauth.request.body,
      `grant_type=authorization_code&code=${fp("code-SECRET-777")}&code_verifier=${
        fp("ver-SECRET-888")
      }` +
        "&client_id=public-id",
    );
    const tokens = oauth.response!.body as Record<string, string>;
    assert.equal(tokens.access_token, fp("at-SECRET-111"));
    assert.equal(tokens.refresh_token, fp("rt-SECRET-222"));
    assert.equal(tokens.id_token, fp("it-SECRET-333"));
    assert.equal(tokens.token_type, "Bearer");
    assert.equal(oauth.response!.headers["set-cookie"], fp("session=cookie-SECRET-444; Path=/"));

    const raw = await Deno.readTextFile(s.file);
    assert.ok(!raw.includes("SECRET"), "no secret in the capture");
    assert.equal((await Deno.stat(s.file)).mode! & 0o777, 0o600);
    // The upstream saw the real values: redaction is on the record only.
    assert.ok(upstream.requests.some((r) => r.headers.authorization === "Bearer sk-SECRET-abc123"));
  });

  Deno.test(`capture --keep-secrets stores secrets raw ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)], {
      keepSecrets: true,
    });
    await rawRequest(s.url(), {
      method: "POST",
      path: "/v1/responses?key=query-SECRET",
      headers: { authorization: "Bearer sk-SECRET-raw", "content-type": "application/json" },
      body: responsesBody("raw", false),
    });
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.equal(e.request.headers["authorization"], "Bearer sk-SECRET-raw");
    assert.ok(e.request.url.endsWith("?key=query-SECRET"));
    assert.equal((e.request.body as { api_key: string }).api_key, "body-SECRET-555");
  });

  Deno.test(`capture keeps a JSON body's own text when nothing in it is redacted ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)]);
    // Compact with non-ASCII text: written into the line as sent (the line is UTF-8).
    const compact = '{"model":"m","input":"héllo ✓ \u2028 😀 \\"q\\"","n":1.50,"e":[]}';
    // Pretty-printed: its newlines would split the line, so it is re-encoded.
    const pretty = JSON.stringify({ model: "m", input: "pretty" }, null, 2);
    // NaN is not JSON: kept as text, so the line stays JSON for every reader.
    const nan = '{"model":"m","x":NaN}';
    // A secret in it: the redacted body is written, never the text.
    const secret = '{"model":"m","api_key":"body-SECRET-999"}';
    // A key given twice: readers keep the last value; the text would keep the first too.
    const twice = '{"model":"m","api_key":"body-SECRET-998","api_key":""}';
    // Too large for a float: would be written back as Infinity; kept as text.
    const huge = '{"model":"m","n":1e400}';
    // Deeper than Python's parser goes: kept as text, not dropped.
    const deep = "[".repeat(5000) + "]".repeat(5000);
    for (const body of [compact, pretty, nan, secret, twice, huge, deep]) {
      const res = await rawRequest(s.url(), {
        method: "POST",
        path: "/v1/echo",
        headers: { "content-type": "application/json" },
        body,
      });
      assert.ok(res.status > 0);
    }
    await s.session.stop();
    const text = await Deno.readTextFile(s.file);
    const lines = text.split("\n").filter((l) => l !== "");
    assert.equal(lines.length, 7, "one line per exchange");
    const [a, b, c, d, e, f, g] = lines.map((l) => JSON.parse(l) as Entry);
    assert.ok(lines[0].includes(`"body": ${compact}`), lines[0].slice(0, 400));
    assert.deepEqual(a.request.body, JSON.parse(compact));
    assert.equal(a.request.body_size, new TextEncoder().encode(compact).length);
    assert.deepEqual(b.request.body, { model: "m", input: "pretty" });
    assert.equal(c.request.body, nan);
    assert.deepEqual(d.request.body, { model: "m", api_key: fp("body-SECRET-999") });
    assert.ok(!text.includes("body-SECRET-999"));
    assert.deepEqual(e.request.body, { model: "m", api_key: "" });
    assert.ok(!text.includes("body-SECRET-998"));
    assert.equal(f.request.body, huge);
    assert.equal(g.request.body, deep);
  });

  Deno.test(`capture streams SSE through before the upstream finishes ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)]);
    // The upstream sends one event and then waits for release(): if the proxy buffered the
    // response, the first event would never arrive and this test would time out.
    let firstEvent!: () => void;
    const gotFirst = new Promise<void>((r) => firstEvent = r);
    let received = "";
    const pending = rawRequest(s.url(), {
      method: "POST",
      path: "/v1/responses",
      headers: { "content-type": "application/json", "x-fake": "hold" },
      body: responsesBody("hold", true),
      onChunk: (c) => {
        received += dec.decode(c);
        if (received.includes("\n\n")) firstEvent();
      },
    });
    await upstream.held;
    await gotFirst;
    assert.ok(received.startsWith("event: response.created\n"));
    assert.ok(!received.includes("response.completed"), "the rest is still held upstream");
    upstream.release();
    const res = await pending;
    assert.ok(dec.decode(res.body).includes("event: response.completed"));
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.ok((e.response!.body as string).includes("response.completed"));
    assert.equal(e.incomplete, undefined);
  });

  Deno.test(`capture records an accepted WebSocket with its messages ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)]);
    const ws = new WebSocket(`${s.url().replace("http:", "ws:")}ws`);
    ws.binaryType = "arraybuffer";
    const received: unknown[] = [];
    const closed = new Promise<void>((resolve) => ws.onclose = () => resolve());
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket through the proxy failed"));
    });
    const next = () =>
      new Promise<void>((resolve) =>
        ws.onmessage = (ev) => {
          received.push(ev.data);
          resolve();
        }
      );
    let reply = next();
    ws.send(JSON.stringify({ type: "response.create", api_key: "ws-SECRET-1" }));
    await reply;
    reply = next();
    ws.send(new Uint8Array([0, 255, 1]));
    await reply;
    ws.send("bye");
    await closed;
    assert.equal(received[0], `echo: {"type":"response.create","api_key":"ws-SECRET-1"}`);
    assert.deepEqual(new Uint8Array(received[1] as ArrayBuffer), new Uint8Array([0, 255, 1]));
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.equal(e.response!.status_code, 101);
    const messages = e.websocket!.map((m) => [m.from, m.text ?? m.base64]);
    assert.deepEqual(messages, [
      ["client", JSON.stringify({ type: "response.create", api_key: fp("ws-SECRET-1") })],
      ["server", `echo: {"type":"response.create","api_key":"ws-SECRET-1"}`],
      ["client", "AP8B"],
      ["server", "AP8B"],
      ["client", "bye"],
    ]);
    assert.ok(e.websocket!.every((m) => m.t >= e.timing!.start));
  });

  Deno.test(`capture records a refused upstream as an error, client gets 502 ${tag}`, async () => {
    const upstream = `http://127.0.0.1:${closedPort()}/`;
    await using s = await startSession(mitmdump, [proxy("api", upstream)]);
    const res = await rawRequest(s.url(), {
      method: "POST",
      path: "/v1/responses",
      headers: { "content-type": "application/json" },
      body: responsesBody("nobody home", false),
    });
    assert.equal(res.status, 502);
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.equal(e.response, null);
    assert.match(e.error!, /refused|connect/i);
    assert.equal((e.request.body as { stream: boolean }).stream, false);
    assert.equal(e.timing!.first_byte, null);
  });

  Deno.test(`capture records a stream dropped mid-way with its partial body ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)]);
    // The upstream cuts the stream only once the client has read its first events.
    let first!: () => void;
    const gotFirst = new Promise<void>((r) => first = r);
    const pending = rawRequest(s.url(), {
      method: "POST",
      path: "/v1/responses",
      headers: { "content-type": "application/json", "x-fake": "drop" },
      body: responsesBody("drop", true),
      onChunk: () => first(),
    }).catch(() => undefined); // the client sees the cut too
    await gotFirst;
    upstream.release();
    await pending;
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.equal(e.response!.status_code, 200);
    assert.ok(e.error, "the exchange is marked failed");
    assert.ok((e.response!.body as string).startsWith("event: response.created\n"));
    assert.ok(!(e.response!.body as string).includes("response.completed"));
  });

  Deno.test(`capture goes to an https upstream whose CA is passed to mitmdump ${tag}`, async () => {
    const tls = await makeTlsFiles();
    try {
      await using upstream = await startFakeUpstream(tls);
      await using s = await startSession(mitmdump, [proxy("api", upstream.url)], {
        upstreamCa: tls.caFile,
      });
      const res = await rawRequest(s.url(), {
        method: "POST",
        path: "/v1/responses",
        headers: { "content-type": "application/json" },
        body: responsesBody("over tls", true),
      });
      assert.equal(res.status, 200);
      assert.ok(dec.decode(res.body).includes("FAKE ANSWER to: over tls"));
      await s.session.stop();
      const [e] = await readEntries(s.file);
      assert.ok(e.request.url.startsWith(upstream.url));
      assert.ok((e.response!.body as string).includes("response.completed"));
    } finally {
      await Deno.remove(tls.dir, { recursive: true });
    }
  });

  Deno.test(`capture with two proxies keeps every line intact under concurrency ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using s = await startSession(mitmdump, [
      proxy("one", upstream.url),
      proxy("two", upstream.url),
    ]);
    const n = 40;
    const jobs = [];
    for (let i = 0; i < n; i++) {
      for (const name of ["one", "two"]) {
        jobs.push(rawRequest(s.url(name), {
          method: "POST",
          path: `/big/${name}/${i}`,
          headers: {
            "content-type": "application/json",
            "x-fake": "big",
            "x-id": `${name}-${i}`,
            "x-size": String(20000 + i * 997),
          },
          body: JSON.stringify({ name, i, pad: "y".repeat(30000 + i) }),
        }));
      }
    }
    const results = await Promise.all(jobs);
    assert.ok(results.every((r) => r.status === 200));
    await s.session.stop();
    const entries = await readEntries(s.file); // every line parses
    assert.equal(entries.length, 2 * n);
    assert.equal(new Set(entries.map((e) => e.id)).size, 2 * n);
    for (const e of entries) {
      const [, , name, i] = new URL(e.request.url).pathname.split("/");
      assert.equal(e.proxy, name);
      assert.equal((e.response!.body as { id: string }).id, `${name}-${i}`);
      assert.equal((e.request.body as { pad: string }).pad.length, 30000 + Number(i));
    }
  });

  Deno.test(`capture routes through --upstream-proxy with credentials ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    await using connect = startConnectProxy("alice:s3cret");
    await using s = await startSession(mitmdump, [proxy("api", upstream.url)], {
      upstreamProxy: `http://alice:s3cret@127.0.0.1:${connect.port}`,
    });
    const res = await rawRequest(s.url(), {
      method: "POST",
      path: "/v1/responses",
      headers: { "content-type": "application/json" },
      body: responsesBody("via corp proxy", false),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(connect.connects, [{
      target: `127.0.0.1:${upstream.port}`,
      auth: "Basic " + btoa("alice:s3cret"),
    }]);
    await s.session.stop();
    const [e] = await readEntries(s.file);
    assert.equal(e.response!.status_code, 200);
    assert.ok(!(await Deno.readTextFile(s.file)).includes("s3cret"));
  });

  Deno.test(`capture fails clearly when the upstream proxy is unreachable ${tag}`, async () => {
    const port = closedPort();
    await assert.rejects(
      startSession(mitmdump, [proxy("api", "http://127.0.0.1:9/")], {
        upstreamProxy: `http://bob:pw@127.0.0.1:${port}`,
      }),
      (err: Error) => {
        assert.ok(err instanceof ProbeError);
        assert.equal(
          err.message,
          `upstream proxy http://127.0.0.1:${port}/ is unreachable (connection refused): start it, ` +
            "fix --upstream-proxy, or leave --upstream-proxy out to connect directly",
        );
        return true;
      },
    );
  });

  Deno.test(`capture names the port, the proxy and the flag when a port is taken ${tag}`, async () => {
    using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (busy.addr as Deno.NetAddr).port;
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(
        CaptureSession.start({
          mitmdump,
          target: target([]),
          proxies: [proxy("api", "http://127.0.0.1:9/"), {
            ...proxy("side", "http://127.0.0.1:9/"),
            port,
          }],
          output: `${dir}/traffic.jsonl`,
          keepSecrets: false,
        }),
        (err: Error) => {
          assert.ok(err instanceof ProbeError);
          assert.equal(
            err.message,
            `port ${port} (proxy side) is already in use: pick another with --port side=PORT`,
          );
          return true;
        },
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
