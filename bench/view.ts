/**
 * Viewer figures for `deno task bench`, on a generated capture:
 *
 *   time from `probe view FILE` starting to the first screen in Chromium   goal ≤ 2 s
 *   the server's peak RSS once the whole capture is indexed               goal ≤ 200 MB
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

const V8_FLAGS = config.tasks.probe.split(/\s+/).find((a) => a.startsWith("--v8-flags="))!;
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
      V8_FLAGS,
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

if (import.meta.main) {
  const file = Deno.args[0];
  if (!file) throw new Error("usage: deno run -A bench/view.ts CAPTURE.jsonl");
  for (const r of await viewFigures(file, file)) {
    console.log(`| ${r.name} | ${r.value} | ${r.goal} | ${r.ok ? "yes" : "no"} |`);
  }
}
