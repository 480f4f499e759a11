/**
 * What a capture cost and how fast it was: tokens per model (with an estimated price), and
 * per-endpoint latency from the recorder's timing fields.
 */
import { costOf, priceFor, type PriceTable } from "./prices.ts";
import type { Block, Entry, Usage } from "./types.ts";

interface ModelTotals {
  requests: number;
  withUsage: number;
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

interface Latency {
  ttfb: number[];
  duration: number[];
}

const UNKNOWN_MODEL = "(unknown model)";

export class Totals {
  #models = new Map<string, ModelTotals>();
  #latency = new Map<string, Latency>();

  /** Adds one model exchange's usage (undefined when the response reported none). */
  addUsage(model: string | undefined, usage: Usage | undefined): void {
    const key = model || UNKNOWN_MODEL;
    let t = this.#models.get(key);
    if (!t) {
      t = {
        requests: 0,
        withUsage: 0,
        input: 0,
        cached: 0,
        cacheWrite: 0,
        output: 0,
        reasoning: 0,
      };
      this.#models.set(key, t);
    }
    t.requests++;
    if (!usage) return;
    t.withUsage++;
    t.input += usage.input;
    t.cached += usage.cached ?? 0;
    t.cacheWrite += usage.cacheWrite ?? 0;
    t.output += usage.output;
    t.reasoning += usage.reasoning ?? 0;
  }

  /** Adds an exchange's timing (milliseconds) to its endpoint. */
  addTiming(path: string, entry: Entry): void {
    const t = entry.timing;
    if (!t || typeof t.start !== "number") return;
    let l = this.#latency.get(path);
    if (!l) {
      l = { ttfb: [], duration: [] };
      this.#latency.set(path, l);
    }
    if (typeof t.first_byte === "number") l.ttfb.push((t.first_byte - t.start) * 1000);
    if (typeof t.end === "number") l.duration.push((t.end - t.start) * 1000);
  }

  get hasUsage(): boolean {
    return this.#models.size > 0;
  }

  /** Latency cells for an endpoint: median and max TTFB and duration, or blanks. */
  latencyCells(path: string): string[] {
    const l = this.#latency.get(path);
    if (!l) return ["", "", "", ""];
    return [...medianMax(l.ttfb), ...medianMax(l.duration)];
  }

  get hasTiming(): boolean {
    return this.#latency.size > 0;
  }

  /** The "Token Usage" section: a row per model, then the total. */
  usageBlocks(prices: PriceTable): Block[] {
    if (this.#models.size === 0) {
      return [{ kind: "paragraph", text: "No model requests in this capture." }];
    }
    const rows: string[][] = [];
    const sum: ModelTotals = {
      requests: 0,
      withUsage: 0,
      input: 0,
      cached: 0,
      cacheWrite: 0,
      output: 0,
      reasoning: 0,
    };
    let totalCost = 0;
    let unpriced = 0;
    const models = [...this.#models.entries()].sort((a, b) => b[1].requests - a[1].requests);
    for (const [model, t] of models) {
      for (const k of Object.keys(sum) as (keyof ModelTotals)[]) sum[k] += t[k];
      const price = model === UNKNOWN_MODEL ? undefined : priceFor(prices, model);
      let cost = "no price";
      if (price) {
        const c = costOf(
          {
            input: t.input,
            output: t.output,
            total: t.input + t.output,
            cached: t.cached,
            cacheWrite: t.cacheWrite,
          },
          price,
        );
        totalCost += c;
        cost = money(c);
      } else if (t.withUsage > 0) unpriced++;
      rows.push(row(model, t, cost));
    }
    rows.push(row("Total", sum, money(totalCost) + (unpriced > 0 ? " (some unpriced)" : "")));
    return [
      {
        kind: "table",
        header: [
          "Model",
          "Requests",
          "With usage",
          "Input",
          "Cached input",
          "Cache writes",
          "Output",
          "Reasoning",
          `Est. cost (${prices.currency})`,
        ],
        rows,
      },
      {
        kind: "paragraph",
        text: `Input includes cached input and cache writes; output includes reasoning. The ` +
          `cost is an estimate from ${
            prices.builtin ? "the built-in price table" : `the price table ${prices.source}`
          } dated ${prices.date}, not a bill.`,
      },
    ];
  }
}

function row(model: string, t: ModelTotals, cost: string): string[] {
  return [
    model,
    String(t.requests),
    String(t.withUsage),
    String(t.input),
    String(t.cached),
    String(t.cacheWrite),
    String(t.output),
    String(t.reasoning),
    cost,
  ];
}

function money(amount: number): string {
  return amount < 0.01 && amount > 0 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}

function medianMax(values: number[]): [string, string] {
  if (values.length === 0) return ["", ""];
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return [`${Math.round(median)} ms`, `${Math.round(sorted[sorted.length - 1])} ms`];
}
