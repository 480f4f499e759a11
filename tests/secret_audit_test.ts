/**
 * Secret audit: a real capture through `probe capture` (real mitmdump, every version the setup
 * found) of requests that carry planted secrets in every place an agent's traffic holds them
 * (testdata/secrets_planted.json), then a raw byte search of everything probe writes from it:
 * the JSONL, the Markdown report, the HTML report and the HAR export.
 */
import assert from "node:assert/strict";
import { rawRequest } from "./fake_upstream.ts";
import { findMitmdumps } from "./tools/paths.ts";
import { fp, modeOf, readJsonl, runProbe, startCodexCapture } from "./tools/capture_helpers.ts";
import {
  BASIC,
  FORM_BODY,
  MODEL_ANSWER,
  MODEL_BODY,
  MODEL_HEADERS,
  MODEL_PATH,
  NEEDLES,
  OAUTH_ANSWER,
  PLAIN_ANSWER,
  S,
  SET_COOKIES,
  STREAM_ANSWER,
  STREAM_BODY,
  STREAM_HEADERS,
  STREAM_PATH,
  WS_BACK,
  WS_OUT,
} from "./tools/planted_capture.ts";

const MITMDUMPS = await findMitmdumps();

/**
 * What the analyzer shows of a --keep-secrets capture, by output: nothing. It masks by itself
 * every secret header (the built-in list and the target's), secret query parameter, and
 * credential field of JSON and form-encoded bodies, in the report, the HTML and the HAR.
 */
const KEEP_SECRETS_LEAKS: Record<string, string[]> = { markdown: [], html: [], har: [] };
const enc = new TextEncoder();

/**
 * A stream with one byte that is not UTF-8 (in an SSE comment), so the capture keeps it as
 * base64: a key split across two of its text deltas. Its second piece is looked for in every
 * base64 body and HAR content, decoded.
 */
const BINARY_TAIL = "PLANTEDbinaryStream0123456789ab";
const BINARY_STREAM = new Uint8Array([
  ...enc.encode(": "),
  0xff,
  ...enc.encode(
    ["bin key s", `k-proj-${BINARY_TAIL} end`].map((delta) =>
      `\n\nevent: response.output_text.delta\ndata: ${
        JSON.stringify({ type: "response.output_text.delta", delta })
      }`
    ).join("") + "\n\n",
  ),
]);

/** The decoded base64 bodies of a JSONL capture, or the decoded base64 contents of a HAR. */
async function base64Bodies(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(file);
  const records = file.endsWith(".har")
    ? JSON.parse(text).log.entries.flatMap((e: { response: { content: unknown } }) => [
      e.response.content,
    ])
    : text.split("\n").filter(Boolean).flatMap((line) => {
      const e = JSON.parse(line);
      return [e.request, e.response].filter(Boolean);
    });
  return records.flatMap((r: Record<string, unknown>) =>
    (r.body_encoding ?? r.encoding) === "base64" ? [atob((r.body ?? r.text) as string)] : []
  );
}

/** Index of `needle` in `haystack` (raw bytes), or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first); i !== -1; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

/** Names of the needles found in the file's raw bytes, in NEEDLES order. */
async function leaks(file: string): Promise<string[]> {
  const bytes = await Deno.readFile(file);
  return NEEDLES.filter(([, v]) => indexOf(bytes, enc.encode(v)) !== -1).map(([n]) => n);
}

interface AuditUpstream extends AsyncDisposable {
  url: string;
  received: { path: string; headers: Headers; body: string }[];
}

/** A model API and an OAuth endpoint that answer with planted cookies and tokens. */
function startAuditUpstream(): AuditUpstream {
  const received: AuditUpstream["received"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/ws") return auditSocket(req);
    received.push({
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.text(),
    });
    const headers = new Headers({ "content-type": "application/json" });
    for (const cookie of SET_COOKIES) headers.append("set-cookie", cookie);
    if (url.pathname === "/binary-stream") {
      return new Response(BINARY_STREAM, { headers: { "content-type": "text/event-stream" } });
    }
    if (url.pathname === "/plain") {
      return new Response(PLAIN_ANSWER, { headers: { "content-type": "text/plain" } });
    }
    if (url.searchParams.has("accessToken")) {
      return new Response(STREAM_ANSWER, { headers: { "content-type": "text/event-stream" } });
    }
    if (url.pathname === "/oauth/token") {
      return new Response(JSON.stringify(OAUTH_ANSWER), { headers });
    }
    return new Response(JSON.stringify(MODEL_ANSWER), { headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    received,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A WebSocket that answers every message with WS_BACK's: key shapes, one split across two. */
function auditSocket(req: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onmessage = () => WS_BACK.forEach((m) => socket.send(m));
  return response;
}

/** Runs `probe capture codex` (proxies only), sends the two requests, stops it with SIGINT. */
async function capture(
  mitmdump: string,
  upstream: string,
  dir: string,
  keepSecrets: boolean,
): Promise<string> {
  const { probe: p, api, chatgpt } = await startCodexCapture(
    mitmdump,
    upstream,
    dir,
    keepSecrets ? ["--keep-secrets"] : [],
  );
  try {
    const model = await rawRequest(`http://127.0.0.1:${api}/`, {
      method: "POST",
      path: MODEL_PATH,
      headers: MODEL_HEADERS,
      body: JSON.stringify(MODEL_BODY),
    });
    assert.equal(model.status, 200);
    const oauth = await rawRequest(`http://127.0.0.1:${chatgpt}/`, {
      method: "POST",
      path: "/oauth/token",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: FORM_BODY,
    });
    assert.equal(oauth.status, 200);
    const stream = await rawRequest(`http://127.0.0.1:${api}/`, {
      method: "POST",
      path: STREAM_PATH,
      headers: STREAM_HEADERS,
      body: JSON.stringify(STREAM_BODY),
    });
    assert.equal(stream.status, 200);
    assert.equal((await rawRequest(`http://127.0.0.1:${api}/`, { path: "/plain" })).status, 200);
    const binary = await rawRequest(`http://127.0.0.1:${api}/`, { path: "/binary-stream" });
    assert.deepEqual(binary.body, BINARY_STREAM);
    await webSocketTurn(`ws://127.0.0.1:${api}/ws`);
  } catch (err) {
    await p.stop();
    throw err;
  }
  p.kill("SIGINT");
  const result = await p.finish();
  assert.equal(result.code, 0, result.stderr.join("\n"));
  assert.equal(
    result.stderr.includes(
      "probe: warning: --keep-secrets: keys and tokens are stored unredacted in the capture",
    ),
    keepSecrets,
  );
  return `${dir}/traffic.jsonl`;
}

/** One WebSocket message out through the proxy (a secret field) and WS_BACK's answers back. */
async function webSocketTurn(url: string): Promise<void> {
  const ws = new WebSocket(url);
  let answers = 0;
  const answered = new Promise<void>((resolve, reject) => {
    ws.onmessage = () => ++answers === WS_BACK.length && resolve();
    ws.onerror = () => reject(new Error(`WebSocket ${url} failed`));
  });
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
  });
  ws.send(WS_OUT);
  await answered;
  const closed = new Promise((r) => ws.onclose = r);
  ws.close(1000, "done");
  await closed;
}

/** Writes the Markdown report, the HTML report and the HAR export of a capture. */
async function outputs(file: string, dir: string): Promise<Record<string, string>> {
  const files = {
    markdown: `${dir}/analysis_report.md`,
    html: `${dir}/analysis_report.html`,
    har: `${dir}/traffic.har`,
  };
  for (
    const args of [
      ["analyze", "--target", "codex", "--input", file],
      ["analyze", "--target", "codex", "--input", file, "--format", "html"],
      ["export", "--har", files.har, "--input", file, "--target", "codex"],
    ]
  ) {
    const r = await runProbe(args);
    assert.equal(r.code, 0, r.stderr.join("\n"));
    assert.deepEqual(r.stderr, [], `${args[0]} warns about nothing`);
  }
  return files;
}

for (const { path: mitmdump, version } of MITMDUMPS) {
  const tag = `[mitmproxy ${version}]`;

  Deno.test(`secret audit: planted secrets reach no file probe writes (default), and with --keep-secrets only the JSONL ${tag}`, async (t) => {
    await using upstream = startAuditUpstream();
    const root = await Deno.makeTempDir({ prefix: "probe-audit-" });
    try {
      await t.step("default: the JSONL holds fingerprints in every place", async () => {
        const file = await capture(mitmdump, upstream.url, `${root}/default`, false);
        assert.equal(await modeOf(file), 0o600);
        assert.equal(await modeOf(`${root}/default`), 0o700);
        assert.deepEqual(await leaks(file), []);
        const entries = await readJsonl(file);
        assert.equal(entries.length, 6);
        // The stream kept as base64: the key masked in its bytes, every other byte as sent.
        const [binary] = await base64Bodies(file);
        assert.ok(!binary.includes(BINARY_TAIL), binary);
        assert.ok(binary.startsWith(": \xff\n\n") && binary.includes("bin key [REDACTED:"));
        const model = entries.find((e) => e.request.url.includes("key="))!;
        const oauth = entries.find((e) => e.proxy === "chatgpt")!;
        const h = model.request.headers;
        assert.equal(h["authorization"], `Bearer ${fp(S["authorization"])}`);
        assert.equal(h["x-api-key"], fp(S["x-api-key"]));
        assert.equal(h["x-goog-api-key"], fp(S["x-goog-api-key"]));
        assert.equal(h["api-key"], fp(S["api-key"]));
        assert.equal(h["cookie"], fp(`session=${S["cookie"]}; theme=dark`));
        assert.equal(h["proxy-authorization"], `Basic ${fp(BASIC)}`);
        assert.equal(h["openai-organization"], fp(S["openai-organization"]));
        assert.equal(
          model.request.url,
          `${upstream.url}v1/responses?alt=json&key=${fp(S["query-key"])}`,
        );
        // The config pasted into the prompt keeps its text; only the secret field's value goes.
        const prompt = `audit me with {"access_token":"${fp(S["prompt-config-token"])}"}`;
        const input = [{ ...MODEL_BODY.input[0], content: [{ type: "input_text", text: prompt }] }];
        assert.deepEqual(model.request.body, {
          ...MODEL_BODY,
          input,
          api_key: fp(S["body-api-key"]),
        });
        // JSON text inside the streamed request: the tool's arguments and output.
        const stream = entries.find((e) => e.request.url.includes("accessToken="))!;
        const [, call, output] = (stream.request.body as { input: Record<string, string>[] }).input;
        assert.deepEqual(JSON.parse(call.arguments), {
          cmd: "env",
          apiKey: fp(S["tool-arguments-apiKey"]),
        });
        assert.ok(
          output.output.endsWith(`{"user":"me","password":"${fp(S["tool-output-password"])}"}`),
          output.output,
        );
        for (const e of [model, oauth]) {
          assert.equal(
            e.response!.headers["set-cookie"],
            `${fp(`sid=${S["set-cookie"]}; Path=/; HttpOnly`)}, ${
              fp(`csrf=${S["set-cookie-2"]}; Path=/`)
            }`,
          );
        }
        assert.equal(
          oauth.request.body,
          `grant_type=refresh_token&refresh_token=${fp(S["form-refresh-token"])}` +
            `&api_key=${fp(S["form-api-key"])}&client_id=app_public` +
            `&clientSecret=${fp(S["form-clientSecret"])}`,
        );
        assert.deepEqual(oauth.response!.body, {
          access_token: fp(S["oauth-access-token"]),
          refresh_token: fp(S["oauth-refresh-token"]),
          token_type: "Bearer",
          expires_in: 3600,
        });
        // Redaction is on the record only: the upstream got the real values.
        const got = upstream.received.find((r) => r.path.includes("key="))!;
        assert.equal(got.headers.get("authorization"), `Bearer ${S["authorization"]}`);
        assert.equal(got.headers.get("x-goog-api-key"), S["x-goog-api-key"]);
        assert.equal(JSON.parse(got.body).api_key, S["body-api-key"]);
        assert.equal(upstream.received.find((r) => r.path === "/oauth/token")!.body, FORM_BODY);
      });

      await t.step(
        "default: no secret in the Markdown report, the HTML report or the HAR",
        async () => {
          const files = await outputs(`${root}/default/traffic.jsonl`, `${root}/default`);
          for (const [what, path] of Object.entries(files)) {
            assert.deepEqual(await leaks(path), [], what);
          }
          assert.ok(!(await base64Bodies(files.har)).some((b) => b.includes(BINARY_TAIL)));
          const md = await Deno.readTextFile(files.markdown);
          assert.ok(md.includes("AUDIT ANSWER"), "the report rendered the exchange");
          assert.ok(md.includes(fp(S["authorization"])), "fingerprints survive into the report");
        },
      );

      await t.step(
        "--keep-secrets: raw in the JSONL only; the report, HTML and HAR mask them all",
        async () => {
          const file = await capture(mitmdump, upstream.url, `${root}/keep`, true);
          assert.equal(await modeOf(file), 0o600);
          // Every secret, raw (the Basic password only inside its base64 credentials).
          assert.deepEqual(
            await leaks(file),
            NEEDLES.map(([n]) => n).filter((n) => n !== "proxy-authorization"),
          );
          assert.ok((await base64Bodies(file)).some((b) => b.includes(BINARY_TAIL)));
          const files = await outputs(file, `${root}/keep`);
          const found: Record<string, string[]> = {};
          for (const [what, path] of Object.entries(files)) found[what] = await leaks(path);
          assert.deepEqual(found, KEEP_SECRETS_LEAKS);
          const har = await base64Bodies(files.har);
          assert.ok(har.length > 0 && !har.some((b) => b.includes(BINARY_TAIL)));
        },
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}
