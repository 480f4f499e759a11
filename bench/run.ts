/**
 * `deno task bench`: probe's figures, each a ratio measured in the same run.
 *
 *   analyze time / parse floor     at 100 MB and 1 GB   goal ≤ 1.3x
 *   analyze peak RSS               at 100 MB and 1 GB   goal ≤ 130 MB, flat (the largest size
 *                                  within 10% of the smallest); Markdown and --format json
 *   analyze live heap              at 100 MB and 1 GB   flat, as above: what the analysis holds
 *                                  after full collections, garbage left out (bench/live_heap.ts)
 *   capture figures                see bench/capture.ts
 *   probe view first screen        at 100 MB and 1 GB   goal ≤ 2 s (see bench/view.ts)
 *   probe view server peak RSS     at 100 MB and 1 GB   goal ≤ 200 MB
 *
 * The analyze figures for two shapes of capture: "long" (sessions of 60 requests, each
 * resending a growing history) and "short" (thousands of conversations of 3 requests each:
 * what the analysis remembers per conversation must not add up). The view figures use "long".
 *
 * Options: --sizes 100,1000 (MB)  --shapes long,short  --runs 3  --skip-capture  --skip-view
 *          --dir DIR
 * Timings are the best of `runs` interleaved runs: on a shared, noisy machine the minimum is
 * the figure least disturbed by other load. Peak memory comes from `runs` more runs of each, whose
 * time is not used (their sampling costs CPU); the figure is their median.
 */
import { parseArgs } from "node:util";
import { GENERATOR_VERSION, type Shape, SHAPES, writeCapture } from "./generate.ts";
import { measure, type Measurement } from "./measure.ts";
import config from "../deno.json" with { type: "json" };

/** The runtime settings of `deno task probe` (V8 flags, code cache), permissions left out. */
const RUNTIME_FLAGS = config.tasks.probe.split(/\s+/).filter((a) =>
  a.startsWith("--") && !a.startsWith("--allow-")
);
if (!RUNTIME_FLAGS.some((a) => a.startsWith("--v8-flags="))) {
  throw new Error("deno.json: the probe task has no --v8-flags");
}

const root = new URL("../", import.meta.url).pathname;
const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "100,1000" },
    shapes: { type: "string", default: "long,short" },
    runs: { type: "string", default: "3" },
    dir: { type: "string", default: `${root}.cache/bench` },
    "skip-capture": { type: "boolean", default: false },
    "skip-view": { type: "boolean", default: false },
  },
});
const sizes = values.sizes.split(",").map(Number);
const shapes = values.shapes.split(",") as Shape[];
for (const shape of shapes) {
  if (!(shape in SHAPES)) throw new Error(`--shapes: unknown shape "${shape}" (long, short)`);
}
const runs = Number(values.runs);
await Deno.mkdir(values.dir, { recursive: true });

const deno = Deno.execPath();

function ok(m: Measurement): Measurement {
  if (m.code !== 0) throw new Error(`benchmark command failed: ${m.stderr.slice(0, 500)}`);
  return m;
}

function best(ms: Measurement[]): Measurement {
  return ms.map(ok).reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

interface Row {
  name: string;
  value: string;
  goal: string;
  ok: boolean;
}
const rows: Row[] = [];

/** Peak RSS of each format and shape at each size (the median, and every run's), for the
 * flatness figures. */
const peaks = new Map<string, { label: string; mb: number; runs: number[] }[]>();
const notePeak = (key: string, label: string, mb: number, runs: number[]) =>
  peaks.set(key, [...(peaks.get(key) ?? []), { label, mb, runs }]);
/** The live heap's median and largest sample of each shape at each size. */
const lives = new Map<string, { label: string; median: number; max: number }[]>();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const range = (xs: number[]) =>
  xs.length < 2 ? "" : `; runs ${xs.map((x) => x.toFixed(0)).join(", ")} MB`;

for (const shape of shapes) {
  for (const mb of sizes) {
    // Named for the generator's version: a file another version wrote is not reused.
    const file = `${values.dir}/${shape}-${mb}mb-g${GENERATOR_VERSION}.jsonl`;
    const target = mb * 1e6;
    let size = 0;
    try {
      size = (await Deno.stat(file)).size;
    } catch {
      // not generated yet
    }
    if (size < target) {
      console.error(`bench: generating ${file} (${mb} MB)…`);
      await writeCapture(file, {
        seed: 42,
        turns: SHAPES[shape],
        format: "mixed",
        targetBytes: target,
      });
      size = (await Deno.stat(file)).size;
    }
    const floorRuns: Measurement[] = [];
    const analyzeRuns: Measurement[] = [];
    const report = `${values.dir}/report-${shape}-${mb}mb.md`;
    const floorArgs = ["run", "--allow-read", `${root}bench/parse_floor.ts`, file];
    const analyzeArgs = [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      // As `deno task probe` and the compiled binary run it (see tests/tools/compile.ts).
      ...RUNTIME_FLAGS,
      `${root}main.ts`,
      "analyze",
      "--target",
      "codex",
      "--input",
      file,
      "--output",
      report,
    ];
    for (let i = 0; i < runs; i++) {
      floorRuns.push(await measure(deno, floorArgs));
      analyzeRuns.push(await measure(deno, analyzeArgs));
    }
    const floor = best(floorRuns);
    const analyze = best(analyzeRuns);
    // Memory from runs of their own (see measure.ts).
    const floorMemory = ok(await measure(deno, floorArgs, { memory: true }));
    // The JSON is written as it is read too (lib/model/json.ts): the same bound.
    const jsonArgs = [...analyzeArgs.slice(0, -1), report.replace(/\.md$/, ".json"), "-f", "json"];
    const peaks: number[] = [];
    const jsonPeaks: number[] = [];
    for (let i = 0; i < runs; i++) {
      peaks.push(ok(await measure(deno, analyzeArgs, { memory: true })).peakMb);
      jsonPeaks.push(ok(await measure(deno, jsonArgs, { memory: true })).peakMb);
    }
    // A run's peak is the highest of many collections' and moves by ±5-10 MB from run to run
    // (the collector's timing, other load): the median of the runs is the figure compared.
    const peak = median(peaks);
    const jsonPeak = median(jsonPeaks);
    const ratio = analyze.seconds / floor.seconds;
    const label = `${(size / 1e6).toFixed(0)} MB${shape === "long" ? "" : ` ${shape}`}`;
    notePeak(shape, label, peak, peaks);
    notePeak(`${shape}, --format json`, label, jsonPeak, jsonPeaks);
    console.error(
      `bench: ${label}: floor ${floor.seconds.toFixed(2)} s, analyze ${
        analyze.seconds.toFixed(2)
      } s, peak RSS ${peak.toFixed(0)} MB (json ${jsonPeak.toFixed(0)} MB, floor ${
        floorMemory.peakMb.toFixed(0)
      } MB)`,
    );
    rows.push({
      name: `analyze time / parse floor, ${label}`,
      value: `${ratio.toFixed(2)}x (${analyze.seconds.toFixed(2)} s / ${
        floor.seconds.toFixed(2)
      } s)`,
      goal: "≤ 1.3x",
      ok: ratio <= 1.3,
    });
    const live = JSON.parse(
      ok(
        await measure(deno, [
          "run",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          ...RUNTIME_FLAGS,
          `${root}bench/live_heap.ts`,
          file,
          report.replace(/\.md$/, ".live.md"),
        ]),
      ).stdout,
    );
    lives.set(shape, [
      ...(lives.get(shape) ?? []),
      { label, median: live.medianMb, max: live.maxMb },
    ]);
    rows.push({
      name: `analyze live heap, ${label}`,
      value: `median ${live.medianMb.toFixed(1)} MB, largest ${
        live.maxMb.toFixed(1)
      } MB (${live.samples} samples)`,
      goal: "(figure)",
      ok: true,
    });
    rows.push({
      name: `analyze peak RSS, ${label}`,
      value: `${peak.toFixed(0)} MB${range(peaks)}`,
      goal: "≤ 130 MB (every run)",
      ok: Math.max(...peaks) <= 130,
    });
    rows.push({
      name: `analyze --format json peak RSS, ${label}`,
      value: `${jsonPeak.toFixed(0)} MB${range(jsonPeaks)}`,
      goal: "≤ 130 MB (every run)",
      ok: Math.max(...jsonPeaks) <= 130,
    });
    if (!values["skip-view"] && shape === "long") {
      const { viewFigures } = await import("./view.ts");
      rows.push(...await viewFigures(file, label));
    }
  }
}

/** The flatness row of a figure measured at the smallest and the largest size. */
function growthRow<T extends { label: string }>(
  name: string,
  list: T[],
  value: (x: T) => number,
  detail: (first: T, last: T) => string,
): Row | undefined {
  if (list.length < 2) return undefined;
  const first = list[0];
  const last = list[list.length - 1];
  const growth = value(last) / value(first);
  return {
    name: `${name}: ${last.label} / ${first.label}`,
    value: `${growth.toFixed(2)}x (${detail(first, last)})`,
    goal: "≤ 1.10x (flat)",
    ok: growth <= 1.1,
  };
}

for (const [key, list] of peaks) {
  const row = growthRow(
    `analyze peak RSS growth, ${key}`,
    list,
    (x) => x.mb,
    (first, last) =>
      `median of ${last.runs.length}: ${last.mb.toFixed(0)} MB / ${first.mb.toFixed(0)} MB`,
  );
  if (row) rows.push(row);
}
for (const [shape, list] of lives) {
  const row = growthRow(
    `analyze live heap growth, ${shape}`,
    list,
    (x) => x.median,
    (first, last) =>
      `medians: ${last.median.toFixed(1)} MB / ${first.median.toFixed(1)} MB; largest ${
        last.max.toFixed(1)
      } / ${first.max.toFixed(1)} MB`,
  );
  if (row) rows.push(row);
}

if (!values["skip-view"]) {
  const { liveFigure } = await import("./view.ts");
  rows.push(await liveFigure());
}

if (!values["skip-capture"]) {
  const { captureFigures } = await import("./capture.ts");
  rows.push(...await captureFigures());
  const { captureMemoryFigures } = await import("./capture_memory.ts");
  rows.push(...await captureMemoryFigures());
}

const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
  .match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown CPU";
console.log(
  `probe benchmarks — ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ${cpu}`,
);
console.log(`deno ${Deno.version.deno}; best of ${runs} runs; ${new Date().toISOString()}`);
console.log("");
console.log("| Figure | Measured | Goal | Met |");
console.log("|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.name} | ${r.value} | ${r.goal} | ${r.ok ? "yes" : "no"} |`);
}
