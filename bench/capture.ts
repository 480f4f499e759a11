/**
 * Capture figures for `deno task bench`, each measured in one run against a local upstream
 * started here (no network):
 *
 *   time to first SSE event through `probe capture` vs direct     goal + ≤ 15 ms
 *   time per request, 200 KB bodies: probe's addon vs plain mitmdump  goal ≤ 1.5x
 *   requests per second through two proxies (16 clients), vs direct   reported
 *
 * probe runs as a user runs it (`main.ts capture codex --port api=0 --upstream api=URL …`),
 * with the newest mitmdump the test setup found. "Plain mitmdump" is the same mitmdump with
 * the same options and no addon (`--mode reverse:URL --listen-port P`, flow output off), so
 * the ratio is the addon's cost. The upstream sends its first SSE event after a fixed delay,
 * so the time to first event is the delay plus what the path adds.
 *
 * Run alone: `deno run -A bench/capture.ts`.
 */
import { listenArgs } from "../lib/capture/mitmdump.ts";
import {
  listening,
  newestMitmdump,
  readJsonl,
  startCodexCapture,
  waitUntil,
} from "../tests/tools/capture_helpers.ts";

/** One line of the benchmark table (the shape bench/run.ts prints). */
export interface Row {
  name: string;
  value: string;
  goal: string;
  ok: boolean;
}

/** How much each figure measures; the defaults take about half a minute. */
export interface CaptureBenchOptions {
  /** Delay before the upstream's first SSE event, ms. */
  firstEventDelayMs?: number;
  /** SSE requests per path for the time to first event (the median is reported). */
  ttftRequests?: number;
  /** Sequential 200 KB requests per round and path. */
  bodyRequests?: number;
  /** Rounds of the 200 KB measurement; the best round counts (many short rounds: noise). */
  rounds?: number;
  /** Rounds, requests and concurrent clients of the throughput figure. */
  rpsRounds?: number;
  rpsRequests?: number;
  clients?: number;
}

const BODY_BYTES = 200_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

function log(line: string): void {
  console.error(`bench: capture: ${line}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Upstream extends AsyncDisposable {
  url: string;
}

/**
 * The model API stand-in: `/sse` streams ten events, the first after `delay` ms; `/json`
 * answers a 200 KB JSON body; `/small` a short one.
 */
function startUpstream(delay: number): Upstream {
  const big = JSON.stringify({ id: "resp_bench", pad: "r".repeat(BODY_BYTES - 30) });
  const small = JSON.stringify({ id: "resp_small", output: "ok" });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    const path = new URL(req.url).pathname;
    if (path === "/sse") {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          await new Promise((r) => setTimeout(r, delay));
          for (let i = 0; i < 10; i++) {
            const data = JSON.stringify({ type: "response.output_text.delta", delta: `t${i}` });
            controller.enqueue(enc.encode(`event: response.output_text.delta\ndata: ${data}\n\n`));
          }
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    return new Response(path === "/json" ? big : small, {
      headers: { "content-type": "application/json" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** A free port on 127.0.0.1 (bound, then released). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** mitmdump with probe's options and no addon; resolves once it accepts connections. */
async function plainMitmdump(
  path: string,
  upstream: string,
): Promise<{ url: string } & AsyncDisposable> {
  const port = freePort();
  const child = new Deno.Command(path, {
    args: ["--mode", `reverse:${upstream}`, ...listenArgs(port)],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  await waitUntil(async () => exited || await listening(port), "plain mitmdump to listen");
  if (exited) throw new Error(`plain mitmdump at ${path} exited at start`);
  return {
    url: `http://127.0.0.1:${port}/`,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    },
  };
}

/** `probe capture codex` with both proxies forwarding to `upstream`; stopped with SIGINT. */
async function startProbe(mitmdump: string, upstream: string, dir: string) {
  const { probe, api, chatgpt } = await startCodexCapture(mitmdump, upstream, dir);
  return {
    urls: [`http://127.0.0.1:${api}/`, `http://127.0.0.1:${chatgpt}/`],
    file: `${dir}/traffic.jsonl`,
    async stop() {
      probe.kill("SIGINT");
      const r = await probe.finish();
      if (r.code !== 0) throw new Error(`probe capture failed:\n${r.stderr.join("\n")}`);
    },
  };
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Milliseconds from sending an SSE request to holding its first whole event. */
async function timeToFirstEvent(base: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(new URL("sse", base), {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ model: "bench", stream: true, input: "ttft" }),
  });
  const reader = res.body!.getReader();
  let text = "";
  let first = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
    if (!first && text.includes("\n\n")) first = performance.now() - t0;
  }
  if (!first || res.status !== 200) throw new Error(`no SSE event from ${base} (${res.status})`);
  return first;
}

/** Mean milliseconds per request over `n` sequential 200 KB requests. */
async function perRequest(base: string, n: number, body: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const res = await fetch(new URL("json", base), { method: "POST", headers: JSON_HEADERS, body });
    const got = await res.arrayBuffer();
    if (res.status !== 200 || got.byteLength < BODY_BYTES - 100) {
      throw new Error(`bad answer from ${base}: ${res.status}, ${got.byteLength} bytes`);
    }
  }
  return (performance.now() - t0) / n;
}

/** Requests per second of `total` small requests from `clients` clients over `bases`. */
async function throughput(bases: string[], total: number, clients: number): Promise<number> {
  let next = 0;
  const body = JSON.stringify({ model: "bench", stream: false, input: "x".repeat(2000) });
  const client = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetch(new URL("small", bases[i % bases.length]), {
        method: "POST",
        headers: JSON_HEADERS,
        body,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  return total / ((performance.now() - t0) / 1000);
}

/**
 * Measures the capture figures in one run and returns them as table rows. Prints what it
 * measured on stderr as it goes.
 */
export async function captureFigures(opts: CaptureBenchOptions = {}): Promise<Row[]> {
  const settings: Settings = {
    delay: opts.firstEventDelayMs ?? 300,
    ttftN: opts.ttftRequests ?? 15,
    bodyN: opts.bodyRequests ?? 20,
    rounds: opts.rounds ?? 8,
    rpsRounds: opts.rpsRounds ?? 3,
    rpsN: opts.rpsRequests ?? 800,
    clients: opts.clients ?? 16,
  };
  const mitmdump = await newestMitmdump();
  log(`mitmdump ${mitmdump.version} (${mitmdump.path})`);
  const dir = await Deno.makeTempDir({ prefix: "probe-bench-capture-" });
  try {
    return await measureAll(mitmdump.path, dir, settings);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Settings {
  delay: number;
  ttftN: number;
  bodyN: number;
  rounds: number;
  rpsRounds: number;
  rpsN: number;
  clients: number;
}

/** Starts the upstream, two plain mitmdumps and probe, measures, stops them. */
async function measureAll(mitmdump: string, dir: string, settings: Settings): Promise<Row[]> {
  const {
    delay,
    ttftN,
    bodyN,
    rounds,
    rpsRounds,
    rpsN,
    clients,
  } = settings;
  await using upstream = startUpstream(delay);
  await using plainA = await plainMitmdump(mitmdump, upstream.url);
  await using plainB = await plainMitmdump(mitmdump, upstream.url);
  const probe = await startProbe(mitmdump, upstream.url, `${dir}/cap`);
  let sentThroughProbe = 0;
  const rows: Row[] = [];
  try {
    // Time to first SSE event: direct and through probe, interleaved, after one warm-up each.
    await timeToFirstEvent(upstream.url);
    await timeToFirstEvent(probe.urls[0]);
    sentThroughProbe++;
    const direct: number[] = [];
    const viaProbe: number[] = [];
    for (let i = 0; i < ttftN; i++) {
      direct.push(await timeToFirstEvent(upstream.url));
      viaProbe.push(await timeToFirstEvent(probe.urls[0]));
      sentThroughProbe++;
    }
    const [d, p] = [median(direct), median(viaProbe)];
    log(
      `time to first SSE event (median of ${ttftN}, first event sent after ${delay} ms): ` +
        `direct ${ms(d)}, probe ${ms(p)}, +${ms(p - d)}`,
    );
    rows.push({
      name: "capture: time to first SSE event, probe vs direct",
      value: `+${ms(p - d)} (${ms(p)} vs ${ms(d)}; first event sent after ${delay} ms; ` +
        `median of ${ttftN})`,
      goal: "+ ≤ 15 ms",
      ok: p - d <= 15,
    });

    // Time per request with 200 KB bodies each way, best of `rounds` interleaved rounds.
    const body = JSON.stringify({ model: "bench", input: "q".repeat(BODY_BYTES - 40) });
    const paths = { direct: upstream.url, plain: plainA.url, probe: probe.urls[0] };
    const best = { direct: Infinity, plain: Infinity, probe: Infinity };
    for (const base of Object.values(paths)) await perRequest(base, 5, body);
    sentThroughProbe += 5;
    for (let r = 0; r < rounds; r++) {
      for (const [name, base] of Object.entries(paths) as [keyof typeof paths, string][]) {
        best[name] = Math.min(best[name], await perRequest(base, bodyN, body));
      }
      sentThroughProbe += bodyN;
    }
    const ratio = best.probe / best.plain;
    log(
      `time per request, 200 KB each way (best of ${rounds} rounds of ${bodyN}): ` +
        `direct ${ms(best.direct)}, plain mitmdump ${ms(best.plain)}, probe ${ms(best.probe)}`,
    );
    rows.push({
      name: "capture: time per request, 200 KB bodies, probe's addon vs plain mitmdump",
      value: `${ratio.toFixed(2)}x (${ms(best.probe)} vs ${ms(best.plain)}; direct ` +
        `${ms(best.direct)})`,
      goal: "≤ 1.5x",
      ok: ratio <= 1.5,
    });

    // Throughput through two proxies, 16 concurrent clients: best of `rpsRounds`, interleaved.
    const targets = {
      direct: [upstream.url],
      plain: [plainA.url, plainB.url],
      probe: probe.urls,
    };
    const rps = { direct: 0, plain: 0, probe: 0 };
    for (let r = 0; r < rpsRounds; r++) {
      for (const [name, bases] of Object.entries(targets) as [keyof typeof rps, string[]][]) {
        rps[name] = Math.max(rps[name], await throughput(bases, rpsN, clients));
      }
      sentThroughProbe += rpsN;
    }
    log(
      `requests per second (best of ${rpsRounds} rounds of ${rpsN} 2 KB requests, ${clients} ` +
        `clients): direct ${rps.direct.toFixed(0)}, 2 plain mitmdumps ${rps.plain.toFixed(0)}, ` +
        `probe with 2 proxies ${rps.probe.toFixed(0)}`,
    );
    rows.push({
      name: `capture: requests per second, 2 proxies, ${clients} clients`,
      value: `${rps.probe.toFixed(0)} req/s = ${(rps.probe / rps.direct).toFixed(2)}x direct ` +
        `(${rps.direct.toFixed(0)} req/s), ${(rps.probe / rps.plain).toFixed(2)}x plain ` +
        `mitmdump (${rps.plain.toFixed(0)} req/s)`,
      goal: "reported",
      ok: true,
    });
  } finally {
    await probe.stop();
  }
  const recorded = (await readJsonl(probe.file)).length;
  log(`probe recorded ${recorded} of ${sentThroughProbe} exchanges`);
  rows.push({
    name: "capture: exchanges recorded during the capture benchmark",
    value: `${recorded} of ${sentThroughProbe}`,
    goal: "all",
    ok: recorded === sentThroughProbe,
  });
  return rows;
}

if (import.meta.main) {
  for (const r of await captureFigures()) {
    console.log(`| ${r.name} | ${r.value} | ${r.goal} | ${r.ok ? "yes" : "no"} |`);
  }
}
