/**
 * HAR import of a HAR that mitmproxy itself wrote: a real mitmdump (≥ 10, which has
 * `--set hardump=FILE`; Debian's 8.1.1 does not) in reverse mode in front of a small Deno.serve
 * upstream; JSON, SSE, gzip and binary exchanges; stopped with SIGINT, which writes the HAR.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { readHarEntries } from "../lib/har_read.ts";
import type { Entry } from "../lib/types.ts";
import { findMitmdumps } from "./tools/paths.ts";

/** The first mitmdump found whose major version has `hardump`. */
async function mitmdumpWithHardump(): Promise<{ path: string; version: string }> {
  const all = await findMitmdumps();
  const found = all.find((m) => Number(m.version.split(".")[0]) >= 10);
  if (!found) {
    throw new Error(
      `no mitmdump >= 10 (found ${all.map((m) => m.version).join(", ")}): ` +
        "run deno run -A tests/tools/setup.ts or set PROBE_MITMDUMP",
    );
  }
  return found;
}

const SSE = 'event: response.output_text.delta\ndata: {"delta":"Hel"}\n\n' +
  'event: response.output_text.delta\ndata: {"delta":"lo"}\n\n' +
  'event: response.completed\ndata: {"response":{"status":"completed"}}\n\n';
const JSON_ANSWER = { id: "resp_1", output: [{ type: "message", content: "hi there" }] };
const GZIP_ANSWER = { id: "resp_gz", note: "was gzip on the wire" };
const BINARY = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);

function startUpstream(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    await req.arrayBuffer();
    if (path === "/v1/json") return Response.json(JSON_ANSWER);
    if (path === "/v1/sse") {
      return new Response(SSE, { headers: { "content-type": "text/event-stream" } });
    }
    if (path === "/v1/gzip") {
      return new Response(new Uint8Array(gzipSync(JSON.stringify(GZIP_ANSWER))), {
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
      });
    }
    if (path === "/bin") return new Response(BINARY, { headers: { "content-type": "image/png" } });
    return new Response("not here", { status: 404, headers: { "content-type": "text/plain" } });
  });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Waits until something accepts connections on the port (bounded: about 60 s). */
async function waitForPort(port: number, child: Deno.ChildProcess): Promise<void> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 600; i++) {
    if (exited) throw new Error("mitmdump exited before listening");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`mitmdump did not listen on ${port}`);
}

const mitmdump = await mitmdumpWithHardump();

Deno.test(`readHarEntries reads mitmproxy's own HAR [mitmproxy ${mitmdump.version}]`, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-har-mitm-" });
  const harPath = `${dir}/flows.har`;
  const upstream = startUpstream();
  const port = freePort();
  const child = new Deno.Command(mitmdump.path, {
    args: [
      "--mode",
      `reverse:http://127.0.0.1:${upstream.addr.port}`,
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(port),
      "--set",
      `confdir=${dir}/conf`,
      "--set",
      `hardump=${harPath}`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let stopped = false;
  const stop = async () => {
    if (stopped) return await output;
    stopped = true;
    child.kill("SIGINT");
    return await output;
  };

  const before = Date.now() / 1000;
  try {
    await waitForPort(port, child);
    const base = `http://127.0.0.1:${port}`;
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-test": "probe" },
        body: JSON.stringify(body),
      });
    assert.deepEqual(
      await (await post("/v1/json", { model: "m", input: "hi" })).json(),
      JSON_ANSWER,
    );
    assert.equal(await (await post("/v1/sse", { model: "m", stream: true })).text(), SSE);
    assert.deepEqual(await (await fetch(`${base}/v1/gzip`)).json(), GZIP_ANSWER);
    assert.deepEqual(new Uint8Array(await (await fetch(`${base}/bin`)).arrayBuffer()), BINARY);
    assert.equal(await (await fetch(`${base}/missing?x=1`)).text(), "not here");
  } finally {
    const out = await stop();
    await upstream.shutdown();
    if (!out.success && out.code !== 0) {
      // SIGINT is a clean stop for mitmdump; anything else is worth seeing.
      console.error(new TextDecoder().decode(out.stderr));
    }
  }
  const after = Date.now() / 1000;

  try {
    const warnings: string[] = [];
    const entries: Entry[] = [];
    for await (const { entry } of readHarEntries(harPath, (l, r) => warnings.push(`${l}: ${r}`))) {
      entries.push(entry);
    }

    await t.step("every exchange is read, in order, without warnings", () => {
      assert.deepEqual(warnings, []);
      assert.deepEqual(
        entries.map((e) => [e.request.method, new URL(e.request.url).pathname]),
        [["POST", "/v1/json"], ["POST", "/v1/sse"], ["GET", "/v1/gzip"], ["GET", "/bin"], [
          "GET",
          "/missing",
        ]],
      );
      for (const e of entries) {
        assert.ok(e.timestamp >= before - 1 && e.timestamp <= after + 1, String(e.timestamp));
        assert.equal(e.timing?.start, e.timestamp);
        assert.equal(typeof e.timing?.end, "number");
        assert.equal(e.error, undefined);
      }
    });

    await t.step("JSON request and response bodies are parsed", () => {
      const e = entries[0];
      assert.deepEqual(e.request.body, { model: "m", input: "hi" });
      assert.equal(e.request.headers["content-type"], "application/json");
      assert.equal(e.request.headers["x-test"], "probe");
      assert.equal(e.response?.status_code, 200);
      assert.deepEqual(e.response?.body, JSON_ANSWER);
      assert.equal(e.response?.body_size, JSON.stringify(JSON_ANSWER).length);
    });

    await t.step("the SSE stream is kept as text, byte for byte", () => {
      const e = entries[1];
      assert.deepEqual(e.request.body, { model: "m", stream: true });
      assert.equal(e.response?.headers["content-type"], "text/event-stream");
      assert.equal(e.response?.body, SSE);
      assert.equal(e.response?.body_encoding, undefined);
    });

    await t.step("a gzip body is read decoded", () => {
      const e = entries[2];
      assert.equal(e.request.body, null);
      assert.equal(e.response?.headers["content-encoding"], "gzip");
      assert.deepEqual(e.response?.body, GZIP_ANSWER);
    });

    await t.step("a binary body stays base64", () => {
      const e = entries[3];
      assert.equal(e.response?.body_encoding, "base64");
      assert.equal(e.response?.body, btoa(String.fromCharCode(...BINARY)));
      assert.equal(e.response?.body_size, BINARY.length);
    });

    await t.step("a 404 with a text body", () => {
      const e = entries[4];
      assert.equal(e.response?.status_code, 404);
      assert.equal(e.response?.body, "not here");
      assert.equal(new URL(e.request.url).search, "?x=1");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
