/**
 * Viewer figures for `deno task bench`, on a generated capture:
 *
 *   time from `probe view FILE` starting to the first screen in Chromium   goal ≤ 2 s
 *   the server's peak RSS once the whole capture is indexed               goal ≤ 200 MB
 *   live: an exchange appended to a followed capture → on the page        goal ≤ 1 s
 *
 * "First screen" is the page showing the first conversation's turn list and a turn's request
 * and response: what a user sees first. The server is `probe view` as a user runs it (the
 * probe task's V8 flags); Chromium is Debian's, driven by playwright-core.
 *
 * Run alone: `deno run -A bench/view.ts FILE`.
 */
import type { Row } from "./capture.ts";
import { launchChromium } from "../tests/tools/browser.ts";
import config from "../deno.json" with { type: "json" };

/** The runtime settings of `deno task probe` (V8 flags, code cache), permissions left out. */
const RUNTIME_FLAGS = config.tasks.probe.split(/\s+/).filter((a) =>
  a.startsWith("--") && !a.startsWith("--allow-")
);
const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function hwmMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`).catch(() => "");
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

export interface ViewFigures {
  firstScreenSeconds: number;
  indexSeconds: number;
  peakMb: number;
  turns: number;
}

export async function measureView(file: string): Promise<ViewFigures> {
  const browser = await launchChromium();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-run",
      "--allow-net=127.0.0.1",
      ...RUNTIME_FLAGS,
      MAIN,
      "view",
      file,
      "--no-open",
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    let url = "";
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`probe view exited: ${out}`);
      out += value;
      url = /^(http:\/\/127\.0\.0\.1:\d+\/t\/\w+\/)$/m.exec(out)?.[1] ?? "";
    }
    const urlAt = (performance.now() - started) / 1000;
    const page = await browser.context.newPage();
    await page.goto(url);
    await page.locator(".turns .row").first().waitFor({ timeout: 60_000 });
    const rowAt = (performance.now() - started) / 1000;
    await page.locator(".detail .response").first().waitFor({ timeout: 60_000 });
    const firstScreenSeconds = (performance.now() - started) / 1000;
    if (Deno.env.get("PROBE_BENCH_VERBOSE")) {
      console.error(`url ${urlAt.toFixed(2)} s, first row ${rowAt.toFixed(2)} s`);
    }
    // Then the whole capture indexed, for the memory figure.
    let turns = 0;
    let peakMb = 0;
    while (true) {
      peakMb = Math.max(peakMb, await hwmMb(child.pid));
      const res = await fetch(`${url}api/sessions`);
      const data = await res.json();
      turns = data.sessions[0].turns;
      if (!data.sessions[0].indexing) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const indexSeconds = (performance.now() - started) / 1000;
    // The page of a fully indexed capture: its session loaded once more.
    await page.reload();
    await page.locator(".turns .row").first().waitFor({ timeout: 60_000 });
    peakMb = Math.max(peakMb, await hwmMb(child.pid));
    await page.close();
    return { firstScreenSeconds, indexSeconds, peakMb, turns };
  } finally {
    child.kill("SIGINT");
    await child.status;
    await browser.close();
  }
}

/**
 * The live path: a viewer following a capture (as `probe capture --view` runs it), a page open
 * on it, then exchanges appended one by one; each is timed from its write to its row on the
 * page. The median of `n` is reported.
 */
export async function measureLive(n = 5): Promise<number[]> {
  const { startViewer } = await import("../lib/view/server.ts");
  const { builtinPriceTable } = await import("../renderers/prices.ts");
  const { builtinRenderers } = await import("../renderers/mod.ts");
  const { builtinTargets } = await import("../targets/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "probe-bench-live-" });
  const file = `${dir}/traffic.jsonl`;
  const sample =
    (await Deno.readTextFile(new URL("../testdata/sample_traffic.jsonl", import.meta.url)))
      .split("\n").filter((l) => l.trim() !== "");
  await Deno.writeTextFile(file, sample[0] + "\n");
  const browser = await launchChromium();
  await using server = startViewer({
    paths: [file],
    target: builtinTargets.find((t) => t.name === "codex")!,
    targets: builtinTargets,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    follow: true,
  });
  const times: number[] = [];
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    await page.locator(".turns .row").first().waitFor();
    for (let i = 0; i < n; i++) {
      const line = sample[1 + (i % (sample.length - 1))];
      const before = await page.locator(".turns .row").count();
      const started = performance.now();
      await Deno.writeTextFile(file, line + "\n", { append: true });
      await page.locator(".turns .row").nth(before).waitFor();
      times.push(performance.now() - started);
    }
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
  return times.sort((a, b) => a - b);
}

export async function viewFigures(file: string, label: string): Promise<Row[]> {
  const f = await measureView(file);
  console.error(
    `bench: view ${label}: first screen ${f.firstScreenSeconds.toFixed(2)} s, fully indexed ${
      f.indexSeconds.toFixed(1)
    } s (${f.turns} turns), server peak RSS ${f.peakMb.toFixed(0)} MB`,
  );
  return [
    {
      name: `probe view first screen, ${label}`,
      value: `${f.firstScreenSeconds.toFixed(2)} s (all ${f.turns} turns indexed at ${
        f.indexSeconds.toFixed(1)
      } s)`,
      goal: "≤ 2 s",
      ok: f.firstScreenSeconds <= 2,
    },
    {
      name: `probe view server peak RSS, ${label}`,
      value: `${f.peakMb.toFixed(0)} MB`,
      goal: "≤ 200 MB",
      ok: f.peakMb <= 200,
    },
  ];
}

/** The live figure as a table row. */
export async function liveFigure(): Promise<Row> {
  const times = await measureLive();
  const median = times[times.length >> 1];
  return {
    name: "probe view live: exchange written → on the page (median of 5)",
    value: `${Math.round(median)} ms (max ${Math.round(times[times.length - 1])} ms)`,
    goal: "≤ 1 s",
    ok: median <= 1000,
  };
}

if (import.meta.main) {
  const file = Deno.args[0];
  if (!file) throw new Error("usage: deno run -A bench/view.ts CAPTURE.jsonl");
  for (const r of [...await viewFigures(file, file), await liveFigure()]) {
    console.log(`| ${r.name} | ${r.value} | ${r.goal} | ${r.ok ? "yes" : "no"} |`);
  }
}
