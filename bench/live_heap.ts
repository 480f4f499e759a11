/**
 * What the analysis holds, garbage left out: `probe analyze` as main.ts runs it, and every
 * quarter second of its reading (its progress callback) a full collection (`gc()`, from the
 * probe task's --expose-gc), then the heap in use is noted. The largest is the figure.
 *
 * Peak RSS also counts garbage waiting for the collector and pages V8 keeps pooled, and moves
 * by ±10 MB with the collector's timing; this counts only what is live, so it shows whether
 * the analysis's state grows with the capture.
 *
 * Usage: deno run <the probe task's flags> --allow-read --allow-write --allow-env
 *          bench/live_heap.ts CAPTURE OUTPUT [json]
 * Prints {"liveMb": N, "samples": K}.
 */
import { analyzeFile } from "../lib/analyze.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { markdownWriter } from "../lib/markdown.ts";
import { builtinTargets } from "../targets/mod.ts";

const [input, output, format] = Deno.args;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("bench/live_heap.ts: run it with --v8-flags=--expose-gc");
const samples: number[] = [];
await analyzeFile({
  input,
  output,
  target: builtinTargets.find((t) => t.name === "codex"),
  targets: builtinTargets,
  renderers: builtinRenderers,
  warn: () => {},
  json: format === "json",
  writer: markdownWriter,
  prices: builtinPriceTable(),
  progress: () => {
    gc();
    samples.push(Deno.memoryUsage().heapUsed / 2 ** 20);
  },
});
const sorted = [...samples].sort((a, b) => a - b);
console.log(JSON.stringify({
  maxMb: sorted[sorted.length - 1],
  medianMb: sorted[sorted.length >> 1],
  lastMb: samples[samples.length - 1],
  samples: samples.length,
}));
