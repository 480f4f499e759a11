/**
 * Stress (bounded in count and time): two proxies of one capture session, 16 concurrent
 * clients, 1000 mixed SSE and JSON exchanges through real mitmdump (every version the setup
 * found). The capture must hold exactly one valid JSON line per exchange, and every recorded
 * body must be what was sent: the upstream's SSE text byte for byte, JSON bodies deep-equal.
 */
import assert from "node:assert/strict";
import type { Entry, ProxySpec, Target } from "../lib/types.ts";
import { rawRequest } from "./fake_upstream.ts";
import { findMitmdumps } from "./tools/paths.ts";
import { readJsonl, startTempCapture } from "./tools/capture_helpers.ts";
import { concat, rng } from "./tools/data.ts";

const MITMDUMPS = await findMitmdumps();
const EXCHANGES = 1000;
const CLIENTS = 16;
/** A stuck exchange fails the test instead of hanging the suite (a bound, not a benchmark). */
const DEADLINE_MS = 300_000;

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Decodes what the upstream sent; throws if a test body were not valid UTF-8. */
const strict = new TextDecoder("utf-8", { fatal: true });

const WORDS = ["token", "délta", "流式", "stream", "🚀", 'a"quote', "back\\slash", "tab\tx", "ok"];

function words(r: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(" ");
}

/** One planned exchange: what the client sends and the upstream answers. */
interface Job {
  id: number;
  proxy: "one" | "two";
  sse: boolean;
  request: Record<string, unknown>;
}

function plan(): Job[] {
  const r = rng(7);
  return Array.from({ length: EXCHANGES }, (_, id) => ({
    id,
    proxy: id % 2 === 0 ? "one" : "two",
    sse: r() < 0.5,
    request: {
      model: "stress-model",
      id,
      input: words(r, 5 + Math.floor(r() * 400)),
      pad: "p".repeat(Math.floor(r() * 20_000)),
    },
  }));
}

/**
 * The upstream's answer to job `id`: SSE bytes in chunks (some events cut mid-line, even
 * inside a UTF-8 sequence), or one JSON text.
 */
function answer(id: number, sse: boolean): Uint8Array<ArrayBuffer>[] {
  const r = rng(1000 + id);
  if (!sse) {
    return [enc.encode(JSON.stringify({
      id: `resp_${id}`,
      object: "response",
      output: [{ type: "message", content: [{ type: "output_text", text: words(r, 20) }] }],
      blob: "j".repeat(Math.floor(r() * 60_000)),
      nested: { list: [1, 2.5, -3, true, null, "x"], deeper: { text: words(r, 10) } },
    }))];
  }
  const events = Math.floor(1 + r() * 60);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < events; i++) {
    const data = JSON.stringify({ type: "response.output_text.delta", i, delta: words(r, 3) });
    const event = enc.encode(`event: response.output_text.delta\ndata: ${data}\n\n`);
    // Some events arrive split mid-line, as a real network delivers them.
    if (r() < 0.3) {
      const cut = 1 + Math.floor(r() * (event.length - 1));
      chunks.push(event.subarray(0, cut), event.subarray(cut));
    } else chunks.push(event);
  }
  chunks.push(
    enc.encode(`event: response.completed\ndata: {"type":"response.completed","id":${id}}\n\n`),
  );
  return chunks;
}

interface StressUpstream extends AsyncDisposable {
  url: string;
  /** Job id → the exact text the upstream sent. */
  sent: Map<number, string>;
}

function startStressUpstream(): StressUpstream {
  const sent = new Map<number, string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json() as { id: number };
    const sse = req.headers.get("x-sse") === "1";
    const chunks = answer(body.id, sse);
    sent.set(body.id, strict.decode(concat(chunks)));
    if (!sse) {
      return new Response(chunks[0], { headers: { "content-type": "application/json" } });
    }
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const [i, c] of chunks.entries()) {
          controller.enqueue(c);
          if (i % 8 === 7) await new Promise((r) => setTimeout(r, 0)); // let chunks go out apart
        }
        controller.close();
      },
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    sent,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function target(proxies: ProxySpec[]): Target {
  return {
    name: "stress",
    description: "stress target",
    reportTitle: "Stress",
    renderer: "openai_responses",
    proxies,
    env: {},
    manualSteps: [],
    redactedHeaders: [],
  };
}

/** Sends one job; even clients use fetch (keep-alive), odd ones node:http (a new connection). */
async function send(
  client: number,
  base: string,
  job: Job,
): Promise<{ status: number; body: string }> {
  const headers = {
    "content-type": "application/json",
    "x-sse": job.sse ? "1" : "0",
    "x-job": String(job.id),
  };
  const path = `/v1/responses?job=${job.id}`;
  const body = JSON.stringify(job.request);
  if (client % 2 === 0) {
    const res = await fetch(new URL(path, base), { method: "POST", headers, body });
    return { status: res.status, body: await res.text() };
  }
  const res = await rawRequest(base, { method: "POST", path, headers, body });
  return { status: res.status, body: dec.decode(res.body) };
}

for (const { path: mitmdump, version } of MITMDUMPS) {
  Deno.test(`capture under stress: 2 proxies, ${CLIENTS} clients, ${EXCHANGES} SSE and JSON exchanges, every line valid and every body exact [mitmproxy ${version}]`, async () => {
    await using upstream = startStressUpstream();
    const proxies: ProxySpec[] = ["one", "two"].map((name) => ({
      name,
      port: 0,
      upstream: upstream.url,
      purpose: `stress proxy ${name}`,
    }));
    await using capture = await startTempCapture(mitmdump, target(proxies), "probe-stress-");
    const { session, file } = capture;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const jobs = plan();
      const received = new Map<number, { status: number; body: string }>();
      let next = 0;
      const worker = async (client: number) => {
        while (next < jobs.length) {
          const job = jobs[next++];
          received.set(job.id, await send(client, capture.url(job.proxy), job));
        }
      };
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`stress did not finish within ${DEADLINE_MS / 1000} s`)),
          DEADLINE_MS,
        );
      });
      await Promise.race([
        Promise.all(Array.from({ length: CLIENTS }, (_, c) => worker(c))),
        deadline,
      ]);
      await session.stop();

      // The clients got exactly what the upstream sent.
      assert.equal(received.size, EXCHANGES);
      for (const job of jobs) {
        const got = received.get(job.id)!;
        assert.equal(got.status, 200, `job ${job.id}: status`);
        assert.equal(got.body, upstream.sent.get(job.id), `job ${job.id}: client body`);
      }

      const entries: Entry[] = await readJsonl(file); // every line parses, the last one ends
      assert.equal(entries.length, EXCHANGES);
      assert.equal(new Set(entries.map((e) => e.id)).size, EXCHANGES, "ids are unique");
      const byJob = new Map<number, Entry>();
      for (const e of entries) {
        const id = Number(new URL(e.request.url).searchParams.get("job"));
        assert.ok(!byJob.has(id), `job ${id} recorded once`);
        byJob.set(id, e);
      }
      for (const job of jobs) {
        const e = byJob.get(job.id);
        assert.ok(e, `job ${job.id} recorded`);
        assert.equal(e.proxy, job.proxy, `job ${job.id}: proxy`);
        assert.equal(e.error, undefined, `job ${job.id}: no error`);
        assert.equal(e.incomplete, undefined, `job ${job.id}: complete`);
        assert.deepEqual(e.request.body, job.request, `job ${job.id}: request body`);
        const res = e.response!;
        assert.equal(res.status_code, 200);
        const sent = upstream.sent.get(job.id)!;
        assert.equal(res.body_size, enc.encode(sent).length, `job ${job.id}: body_size`);
        if (job.sse) assert.equal(res.body, sent, `job ${job.id}: SSE text`);
        else assert.deepEqual(res.body, JSON.parse(sent), `job ${job.id}: JSON body`);
      }
    } finally {
      clearTimeout(timer);
    }
  });
}
