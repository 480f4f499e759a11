/**
 * Capture memory for `deno task bench`, measured in one run against local servers: the peak
 * RSS of probe's own process (`deno run` of main.ts with the probe task's V8 flags, as a user
 * runs it) while it captures with live OTLP export to a local endpoint, its mitmdump's, their
 * total, and the peak RSS of plain mitmdump (no addon) carrying the same requests. RSS counts
 * the pages of the deno executable that probe has touched (shared with any other deno process),
 * so the private part (anonymous memory) is reported beside it.
 *
 * Run alone: `deno run -A bench/capture_memory.ts`.
 */
import { listenArgs } from "../lib/capture/mitmdump.ts";
import { startFakeUpstream } from "../tests/fake_upstream.ts";
import {
  listening,
  newestMitmdump,
  ProbeProcess,
  waitUntil,
} from "../tests/tools/capture_helpers.ts";
import type { Row } from "./capture.ts";

const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
/**
 * The runtime settings of `deno task probe` (V8 flags, code cache), permissions left out;
 * BENCH_RUNTIME_FLAGS (space-separated) tries others.
 */
const RUNTIME_FLAGS: string[] = Deno.env.get("BENCH_RUNTIME_FLAGS")?.split(/\s+/) ??
  config.tasks.probe.split(/\s+/).filter((a: string) =>
    a.startsWith("--") && !a.startsWith("--allow-")
  );

function log(line: string): void {
  console.error(`bench: capture memory: ${line}`);
}

/** RSS and anonymous (private) memory of a process, in MB; undefined once it is gone. */
function memoryOf(pid: number): { rss: number; anon: number } | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/smaps_rollup`);
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
    return { rss: kb("Rss") / 1024, anon: kb("Anonymous") / 1024 };
  } catch {
    return undefined;
  }
}

/** Child processes of `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e.name));
    } catch {
      // gone
    }
  }
  return out;
}

/** Samples processes every 20 ms and keeps each one's peak. */
class PeakSampler {
  #peaks = new Map<string, { rss: number; anon: number }>();
  #timer: ReturnType<typeof setInterval>;
  constructor(pids: () => Record<string, number[]>) {
    this.#timer = setInterval(() => {
      for (const [name, list] of Object.entries(pids())) {
        let rss = 0;
        let anon = 0;
        for (const pid of list) {
          const m = memoryOf(pid);
          if (m) {
            rss += m.rss;
            anon += m.anon;
          }
        }
        const p = this.#peaks.get(name) ?? { rss: 0, anon: 0 };
        this.#peaks.set(name, { rss: Math.max(p.rss, rss), anon: Math.max(p.anon, anon) });
      }
    }, 20);
  }
  stop(): Map<string, { rss: number; anon: number }> {
    clearInterval(this.#timer);
    return this.#peaks;
  }
}

/**
 * Requests like an agent's: four conversations that each resend their growing history (a
 * 200 KB first message, then a short message per turn), streamed and not.
 */
async function traffic(base: string, n: number): Promise<void> {
  const message = (text: string) => ({
    type: "message",
    role: "user",
    content: [{ type: "input_text", text }],
  });
  const histories = [0, 1, 2, 3].map((c) => [message(`${c} ${"h".repeat(200_000)}`)]);
  for (let i = 0; i < n; i++) {
    const history = histories[i % 4];
    history.push(message(`turn ${i}`));
    const res = await fetch(new URL("v1/responses", base), {
      method: "POST",
      headers: { "content-type": "application/json", session_id: `bench-${i % 4}` },
      body: JSON.stringify({ model: "gpt-bench", stream: i % 2 === 0, input: history }),
    });
    await res.arrayBuffer();
  }
}

/**
 * The runtime's own floor: RSS and private memory of `deno run` (the same settings, in this
 * checkout so deno.json is read as for probe) of a script that does nothing but read its own;
 * with `spawn`, one that first does the least any wrapper of mitmdump must: start a child with
 * its output piped and being read, and listen for Ctrl-C.
 */
async function runtimeFloor(dir: string, spawn = false): Promise<{ rss: number; anon: number }> {
  const script = `${dir}/floor${spawn ? "-spawn" : ""}.js`;
  const child =
    `const c = new Deno.Command("sleep", { args: ["5"], stdout: "piped", stderr: "piped" }).spawn();
Deno.addSignalListener("SIGINT", () => c.kill("SIGINT"));
c.stdout.getReader().read();
c.stderr.getReader().read();
await new Promise((r) => setTimeout(r, 500));
`;
  await Deno.writeTextFile(
    script,
    `${spawn ? child : ""}const t = Deno.readTextFileSync("/proc/self/smaps_rollup");
const kb = (k) => Number(t.split("\\n").find((l) => l.startsWith(k + ":")).split(/ +/)[1]);
console.log(JSON.stringify({ rss: kb("Rss") / 1024, anon: kb("Anonymous") / 1024 }));
${spawn ? "c.kill(); Deno.exit(0);" : ""}`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...RUNTIME_FLAGS, script],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

export async function captureMemoryFigures(requests = 200): Promise<Row[]> {
  const mitmdump = await newestMitmdump();
  await using upstream = await startFakeUpstream();
  let spans = 0;
  const otlp = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.arrayBuffer();
    spans++;
    return new Response('{"partialSuccess":{}}');
  });
  const dir = await Deno.makeTempDir({ prefix: "probe-bench-memory-" });
  const rows: Row[] = [];
  try {
    // probe capture, as `deno task probe` runs main.ts (the same V8 flags), with live OTLP.
    const probe = new ProbeProcess([
      "capture",
      "openai",
      "--mitmdump",
      mitmdump.path,
      "--port",
      "api=0",
      "--upstream",
      `api=${upstream.url}`,
      "--output-dir",
      `${dir}/cap`,
      "--otlp",
      `http://127.0.0.1:${otlp.addr.port}`,
    ], { denoArgs: RUNTIME_FLAGS, timeoutMs: 600_000 });
    await probe.line(/^Press Ctrl\+C to stop\.$/);
    const port = Number((await probe.line(/^ {2}:(\d+) -> /))[1]);
    const idle = memoryOf(probe.pid);
    const mitmPids = childrenOf(probe.pid);
    const sampler = new PeakSampler(() => ({ probe: [probe.pid], mitmdump: mitmPids }));
    await traffic(`http://127.0.0.1:${port}/`, requests);
    await new Promise((r) => setTimeout(r, 1500)); // the last batch of spans goes out
    const peaks = sampler.stop();
    probe.kill("SIGINT");
    const result = await probe.finish();
    const otlpLine = result.stdout.find((l) => l.startsWith("OTLP:")) ?? "(no OTLP line)";
    log(`${otlpLine}; ${spans} requests reached the endpoint`);

    // Plain mitmdump with the same requests.
    const plainPort = freePort();
    const plain = new Deno.Command(mitmdump.path, {
      args: ["--mode", `reverse:${upstream.url}`, ...listenArgs(plainPort)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitUntil(() => listening(plainPort), "plain mitmdump to listen");
    const plainSampler = new PeakSampler(() => ({ plain: [plain.pid] }));
    await traffic(`http://127.0.0.1:${plainPort}/`, requests);
    const plainPeak = plainSampler.stop().get("plain")!;
    plain.kill("SIGTERM");
    await plain.status;

    const p = peaks.get("probe")!;
    const m = peaks.get("mitmdump")!;
    const floor = await runtimeFloor(dir);
    const spawnFloor = await runtimeFloor(dir, true);
    const shared = (x: { rss: number; anon: number } | undefined) =>
      x ? (x.rss - x.anon).toFixed(1) : "?";
    log(
      `probe's process: idle ${idle?.rss.toFixed(1)} MB RSS (${idle?.anon.toFixed(1)} private, ` +
        `${shared(idle)} file-backed), peak ${p.rss.toFixed(1)} MB RSS (${
          p.anon.toFixed(1)
        } MB private); its mitmdump ${m.rss.toFixed(1)} MB; plain mitmdump ${
          plainPeak.rss.toFixed(1)
        } MB (${requests} requests of ~200 KB); runtime floor (empty script) ${
          floor.rss.toFixed(1)
        } MB RSS (${floor.anon.toFixed(1)} private, ${shared(floor)} file-backed)`,
    );
    rows.push({
      name: "capture: probe's own process, peak RSS while capturing with --otlp",
      value: `${p.rss.toFixed(1)} MB RSS, ${p.anon.toFixed(1)} MB private (idle ` +
        `${idle?.rss.toFixed(1)} MB, ${idle?.anon.toFixed(1)} private; ${requests} requests of ` +
        `~200 KB; an empty deno script: ${floor.rss.toFixed(1)} MB, ${
          floor.anon.toFixed(1)
        } private; one that spawns a child, reads its output and listens for Ctrl-C: ${
          spawnFloor.rss.toFixed(1)
        } MB, ${spawnFloor.anon.toFixed(1)} private)`,
      goal: "< 40 MB",
      ok: p.rss < 40,
    });
    rows.push({
      name: "capture: total RSS (probe + its mitmdump) vs plain mitmdump",
      value: `${(p.rss + m.rss).toFixed(0)} MB (${p.rss.toFixed(0)} + ${m.rss.toFixed(0)}) vs ` +
        `${plainPeak.rss.toFixed(0)} MB`,
      goal: "reported",
      ok: true,
    });
  } finally {
    await otlp.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await captureMemoryFigures()) {
    console.log(`| ${r.name} | ${r.value} | ${r.goal} | ${r.ok ? "yes" : "no"} |`);
  }
}
