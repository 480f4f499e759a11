/**
 * Fake servers for the capture tests, all on 127.0.0.1 and free ports:
 * - a model API (OpenAI Responses: SSE and JSON). The `x-fake` request header picks a test
 *   behaviour: `gzip`; `br` (JSON only); `binary`; `big` (a large JSON body); `hold` (a stream
 *   held open until the test calls `release()`); `drop` (a stream cut mid-way once the test
 *   calls `release()`). `HEAD /` and `GET /` answer 200, a WebSocket upgrade 426 (except the
 *   echo server on `/ws`), `POST /oauth/token` a token JSON. Every request is recorded.
 * - the same over https, with a CA and certificate made by `openssl` at test time.
 * - a CONNECT proxy that records what it tunnels (for `--upstream-proxy`).
 * - a raw HTTP client (node:http) that returns the bytes as received: no decompression.
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import { brotliCompressSync, brotliDecompressSync, gzipSync } from "node:zlib";

export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface FakeUpstream extends AsyncDisposable {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves when a `hold` stream has sent its first event and waits. */
  held: Promise<void>;
  /** Lets a `hold` stream finish. */
  release(): void;
  close(): Promise<void>;
}

export interface TlsFiles {
  dir: string;
  caFile: string;
  cert: string;
  key: string;
}

const enc = new TextEncoder();

/** The final answer the fake model gives: echoes the prompt so tests can find both. */
export function answerFor(prompt: string): string {
  return `FAKE ANSWER to: ${prompt}`;
}

export const USAGE = {
  input_tokens: 321,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 45,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 366,
};

/** The last user text of a Responses API request body. */
function promptOf(body: unknown): string {
  const input = (body as { input?: unknown })?.input;
  if (typeof input === "string") return input;
  let last = "";
  if (Array.isArray(input)) {
    for (const item of input) {
      if (item?.role !== "user") continue;
      const content = item.content;
      if (typeof content === "string") last = content;
      else if (Array.isArray(content)) {
        for (const c of content) if (typeof c?.text === "string") last = c.text;
      }
    }
  }
  return last;
}

function sse(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The SSE events of one Responses API turn answering with `text`. */
export function responseEvents(text: string, model = "fake-model"): string[] {
  const id = "resp_fake1";
  const msg = { id: "msg_fake1", type: "message", role: "assistant" };
  const base = { id, object: "response", created_at: 1700000000, model };
  const done = {
    ...msg,
    status: "completed",
    content: [{ type: "output_text", text, annotations: [] }],
  };
  const half = Math.ceil(text.length / 2);
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    sse(type, { ...data, sequence_number: seq++ });
  return [
    ev("response.created", { response: { ...base, status: "in_progress", output: [] } }),
    ev("response.output_item.added", {
      output_index: 0,
      item: { ...msg, status: "in_progress", content: [] },
    }),
    ev("response.content_part.added", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      part: { type: "output_text", text: "", annotations: [] },
    }),
    ev("response.output_text.delta", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      delta: text.slice(0, half),
    }),
    ev("response.output_text.delta", {
      item_id: msg.id,
      output_index: 0,
      content_index: 0,
      delta: text.slice(half),
    }),
    ev("response.output_text.done", { item_id: msg.id, output_index: 0, content_index: 0, text }),
    ev("response.output_item.done", { output_index: 0, item: done }),
    ev("response.completed", {
      response: { ...base, status: "completed", output: [done], usage: USAGE },
    }),
  ];
}

function responseJson(text: string, model = "fake-model"): Record<string, unknown> {
  return {
    id: "resp_fake1",
    object: "response",
    created_at: 1700000000,
    model,
    status: "completed",
    output: [{
      id: "msg_fake1",
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text, annotations: [] }],
    }],
    usage: USAGE,
  };
}

/** Deterministic non-UTF-8 bytes. */
export function binaryBytes(n = 1024): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + 7) & 0xff;
  out[0] = 0xff;
  out[1] = 0xfe;
  return out;
}

function gzip(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(gzipSync(enc.encode(text)));
}

export function brotli(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(brotliCompressSync(enc.encode(text)));
}

const NO_TRANSFORM = { "cache-control": "no-transform" };

export function startFakeUpstream(tls?: TlsFiles): Promise<FakeUpstream> {
  const requests: ReceivedRequest[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  let heldResolve!: () => void;
  const held = new Promise<void>((r) => heldResolve = r);

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const body = new Uint8Array(await req.arrayBuffer());
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => headers[k] = v);
    requests.push({ method: req.method, path: url.pathname + url.search, headers, body });
    const mode = req.headers.get("x-fake") ?? "";

    if (req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      if (url.pathname === "/ws") {
        // An echo server: each message comes back prefixed; "bye" closes.
        const { socket, response } = Deno.upgradeWebSocket(req);
        socket.onmessage = (ev) => {
          if (ev.data === "bye") socket.close(1000, "done");
          else if (typeof ev.data === "string") socket.send(`echo: ${ev.data}`);
          else socket.send(ev.data);
        };
        return response;
      }
      return new Response("websocket not supported here", { status: 426, headers: NO_TRANSFORM });
    }
    if (url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")) {
      return new Response(req.method === "HEAD" ? null : "ok\n", {
        status: 200,
        headers: { "content-type": "text/plain", ...NO_TRANSFORM },
      });
    }
    if (url.pathname === "/oauth/token") {
      return Response.json({
        access_token: "at-SECRET-111",
        refresh_token: "rt-SECRET-222",
        id_token: "it-SECRET-333",
        token_type: "Bearer",
      }, {
        headers: { "set-cookie": "session=cookie-SECRET-444; Path=/", ...NO_TRANSFORM },
      });
    }
    if (mode === "binary") {
      return new Response(binaryBytes(), {
        headers: { "content-type": "application/octet-stream", ...NO_TRANSFORM },
      });
    }
    if (mode === "big") {
      const size = Number(req.headers.get("x-size") ?? "100000");
      return Response.json({ id: req.headers.get("x-id"), pad: "x".repeat(size) }, {
        headers: NO_TRANSFORM,
      });
    }

    let parsed: unknown = undefined;
    try {
      const raw = req.headers.get("content-encoding") === "br" ? brotliDecompressSync(body) : body;
      parsed = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      // not JSON: answer anyway
    }
    const prompt = promptOf(parsed);
    const model = (parsed as { model?: string })?.model ?? "fake-model";
    const text = answerFor(prompt);
    const stream = (parsed as { stream?: boolean })?.stream === true;

    if (!stream) {
      const json = JSON.stringify(responseJson(text, model));
      if (mode === "gzip" || mode === "br") {
        return new Response(mode === "gzip" ? gzip(json) : brotli(json), {
          headers: { "content-type": "application/json", "content-encoding": mode },
        });
      }
      return new Response(json, {
        headers: { "content-type": "application/json", ...NO_TRANSFORM },
      });
    }

    const events = responseEvents(text, model);
    const sseHeaders = { "content-type": "text/event-stream", ...NO_TRANSFORM };
    if (mode === "gzip") {
      return new Response(gzip(events.join("")), {
        headers: { ...sseHeaders, "content-encoding": "gzip" },
      });
    }
    const body2 = new ReadableStream<Uint8Array>({
      async start(controller) {
        if (mode === "hold" || mode === "drop") {
          controller.enqueue(enc.encode(events[0]));
          if (mode === "drop") controller.enqueue(enc.encode(events[1]));
          heldResolve();
          await released;
          if (mode === "drop") {
            controller.error(new Error("fake upstream dropped the stream (as asked)"));
            return;
          }
          for (const e of events.slice(1)) controller.enqueue(enc.encode(e));
          controller.close();
          return;
        }
        for (const e of events) controller.enqueue(enc.encode(e));
        controller.close();
      },
    });
    return new Response(body2, { headers: sseHeaders });
  };

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => {},
      ...(tls
        ? { cert: Deno.readTextFileSync(tls.cert), key: Deno.readTextFileSync(tls.key) }
        : {}),
    }, handler);
    const port = server.addr.port;
    const close = async () => {
      release();
      await server.shutdown();
    };
    resolve({
      url: `${tls ? "https" : "http"}://127.0.0.1:${port}/`,
      port,
      requests,
      held,
      release,
      close,
      [Symbol.asyncDispose]: close,
    });
  });
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
export async function makeTlsFiles(): Promise<TlsFiles> {
  const dir = await Deno.makeTempDir({ prefix: "probe-tls-" });
  const run = async (args: string[]) => {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  };
  await run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=probe test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ]);
  return { dir, caFile: `${dir}/ca.pem`, cert: `${dir}/server.pem`, key: `${dir}/server.key` };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body bytes as they arrived (chunked framing removed, no decompression). */
  body: Uint8Array;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Called with each body chunk as it arrives. */
  onChunk?: (chunk: Uint8Array) => void;
}

/** One HTTP/1.1 request with node:http (no decompression, no connection reuse). */
export function rawRequest(baseUrl: string, req: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(req.path ?? "/", baseUrl);
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: url.hostname,
      port: Number(url.port),
      method: req.method ?? "GET",
      path: url.pathname + url.search,
      headers: { connection: "close", ...(req.headers ?? {}) },
      agent: false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (c: Buffer) => {
        const chunk = new Uint8Array(c);
        chunks.push(chunk);
        req.onChunk?.(chunk);
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: new Uint8Array(Buffer.concat(chunks)),
        }));
      res.on("error", reject);
      res.on("aborted", () => reject(new Error("response aborted")));
    });
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

export interface ConnectProxy extends AsyncDisposable {
  url: string;
  port: number;
  /** Every CONNECT it got: target and the Proxy-Authorization header. */
  connects: { target: string; auth: string | null }[];
  close(): Promise<void>;
}

/** A small HTTP CONNECT proxy; with `credentials` ("user:pass") it demands Basic auth. */
export function startConnectProxy(credentials?: string): ConnectProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const connects: ConnectProxy["connects"] = [];
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const expected = credentials ? "Basic " + btoa(credentials) : undefined;

  const handle = async (conn: Deno.Conn) => {
    conns.add(conn);
    let upstream: Deno.Conn | undefined;
    try {
      let head = new Uint8Array(0);
      const buf = new Uint8Array(4096);
      let end = -1;
      while (end < 0) {
        const n = await conn.read(buf);
        if (n === null) return;
        const merged = new Uint8Array(head.length + n);
        merged.set(head);
        merged.set(buf.subarray(0, n), head.length);
        head = merged;
        end = new TextDecoder().decode(head).indexOf("\r\n\r\n");
      }
      const text = new TextDecoder().decode(head);
      const lines = text.slice(0, end).split("\r\n");
      const [method, target] = lines[0].split(" ");
      const auth = lines.slice(1).find((l) => /^proxy-authorization:/i.test(l))
        ?.replace(/^[^:]+:\s*/, "") ?? null;
      connects.push({ target, auth });
      if (method !== "CONNECT") {
        await conn.write(
          new TextEncoder().encode("HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"),
        );
        return;
      }
      if (expected && auth !== expected) {
        await conn.write(new TextEncoder().encode(
          "HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic\r\ncontent-length: 0\r\n\r\n",
        ));
        return;
      }
      const [host, p] = [
        target.slice(0, target.lastIndexOf(":")),
        target.slice(target.lastIndexOf(":") + 1),
      ];
      upstream = await Deno.connect({ hostname: host.replace(/^\[|\]$/g, ""), port: Number(p) });
      conns.add(upstream);
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 Connection established\r\n\r\n"));
      const rest = head.subarray(end + 4);
      if (rest.length) await upstream.write(rest);
      await Promise.all([pipe(conn, upstream), pipe(upstream, conn)]);
    } catch {
      // a closed side ends the tunnel
    } finally {
      for (const c of [conn, upstream]) {
        if (!c) continue;
        conns.delete(c);
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    }
  };

  const loop = (async () => {
    try {
      for await (const conn of listener) {
        const t = handle(conn);
        tasks.add(t);
        t.finally(() => tasks.delete(t));
      }
    } catch {
      // listener closed
    }
  })();

  const close = async () => {
    try {
      listener.close();
    } catch {
      // closed already
    }
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed already
      }
    }
    await loop;
    await Promise.allSettled([...tasks]);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connects,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16384);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } finally {
    try {
      await to.closeWrite();
    } catch {
      // closed already
    }
  }
}

/** A port nothing listens on (bound, then released). */
export function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
