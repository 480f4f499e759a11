/**
 * What a capture cost and how fast it was: tokens per model (with an estimated price), and
 * per-endpoint latency from the recorder's timing fields.
 */
import { exchangeCost, priceKey, type PriceTable } from "./prices.ts";
import type { Block, Entry, Usage } from "./types.ts";

interface ModelTotals {
  requests: number;
  withUsage: number;
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
  /** Server-tool requests by usage field (e.g. web_search_requests). */
  serverTools: Map<string, number>;
  cost: number;
  /** Usage counted here that has no price (the model, or a server tool). */
  unpriced: boolean;
}

interface Latency {
  ttfb: LatencySeries;
  duration: LatencySeries;
}

/**
 * Latencies kept exactly per series; past this many, they are counted per whole millisecond
 * (what the report shows), so memory grows with the spread of the values, not their number.
 */
export const EXACT_LATENCIES = 4096;

/**
 * One endpoint's latencies (ms), for their median and max: exact values while there are few,
 * then counts per whole millisecond (the median is then that of the values rounded to the ms,
 * which differs from the exact one by half a millisecond at most).
 */
export class LatencySeries {
  #exact: number[] | undefined = [];
  #counts = new Map<number, number>();
  #n = 0;
  #max = -Infinity;

  add(ms: number): void {
    this.#n++;
    if (ms > this.#max) this.#max = ms;
    if (this.#exact) {
      this.#exact.push(ms);
      if (this.#exact.length <= EXACT_LATENCIES) return;
      for (const v of this.#exact) this.#count(v);
      this.#exact = undefined;
      return;
    }
    this.#count(ms);
  }

  #count(ms: number): void {
    const key = Math.round(ms);
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** The median and the max, as report cells ("12 ms"), or blanks when there is none. */
  cells(): [string, string] {
    if (this.#n === 0) return ["", ""];
    return [`${Math.round(this.#median())} ms`, `${Math.round(this.#max)} ms`];
  }

  #median(): number {
    if (this.#exact) {
      const sorted = [...this.#exact].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
    // The values at positions lo and hi (0-based) of the sorted series: the middle one or two.
    const hi = this.#n >> 1;
    const lo = this.#n % 2 ? hi : hi - 1;
    let seen = 0;
    let low: number | undefined;
    for (const [ms, count] of [...this.#counts].sort((a, b) => a[0] - b[0])) {
      seen += count;
      if (low === undefined && seen > lo) low = ms;
      if (seen > hi) return (low! + ms) / 2;
    }
    return this.#max;
  }
}

const UNKNOWN_MODEL = "(unknown model)";

const emptyTotals = (): ModelTotals => ({
  requests: 0,
  withUsage: 0,
  input: 0,
  cached: 0,
  cacheWrite: 0,
  output: 0,
  reasoning: 0,
  serverTools: new Map(),
  cost: 0,
  unpriced: false,
});

const COUNTS = [
  "requests",
  "withUsage",
  "input",
  "cached",
  "cacheWrite",
  "output",
  "reasoning",
] as const;

/**
 * Tokens and cost per model. Each exchange is priced as it is added: the long-context tier
 * depends on that request's input, and sub-calls (compaction, advisor: `Usage.subCalls`) go to
 * the model that ran them.
 */
export class Totals {
  #models = new Map<string, ModelTotals>();
  #latency = new Map<string, Latency>();
  #prices: PriceTable;

  constructor(prices: PriceTable) {
    this.#prices = prices;
  }

  #row(model: string): ModelTotals {
    let t = this.#models.get(model);
    if (!t) {
      t = emptyTotals();
      this.#models.set(model, t);
    }
    return t;
  }

  /** Adds one model exchange's usage (undefined when the response reported none). */
  addUsage(model: string | undefined, usage: Usage | undefined): void {
    const key = model || UNKNOWN_MODEL;
    const t = this.#row(key);
    t.requests++;
    if (!usage) return;
    t.withUsage++;
    addTokens(t, usage);
    for (const [tool, n] of Object.entries(usage.serverTools ?? {})) {
      t.serverTools.set(tool, (t.serverTools.get(tool) ?? 0) + n);
    }
    for (const sub of usage.subCalls ?? []) addTokens(this.#row(sub.model || key), sub.usage);
    const cost = exchangeCost(this.#prices, model || undefined, usage);
    for (const [who, amount] of cost.byModel) this.#row(who).cost += amount;
    for (const name of cost.unpriced) {
      // A server tool without a fee leaves the exchange's own model incomplete.
      (this.#models.get(name) ?? t).unpriced = true;
    }
  }

  /** Adds an exchange's timing (milliseconds) to its endpoint. */
  addTiming(path: string, entry: Entry): void {
    const t = entry.timing;
    if (!t || typeof t.start !== "number") return;
    let l = this.#latency.get(path);
    if (!l) {
      l = { ttfb: new LatencySeries(), duration: new LatencySeries() };
      this.#latency.set(path, l);
    }
    if (typeof t.first_byte === "number") l.ttfb.add((t.first_byte - t.start) * 1000);
    if (typeof t.end === "number") l.duration.add((t.end - t.start) * 1000);
  }

  get hasUsage(): boolean {
    return this.#models.size > 0;
  }

  /** Latency cells for an endpoint: median and max TTFB and duration, or blanks. */
  latencyCells(path: string): string[] {
    const l = this.#latency.get(path);
    if (!l) return ["", "", "", ""];
    return [...l.ttfb.cells(), ...l.duration.cells()];
  }

  get hasTiming(): boolean {
    return this.#latency.size > 0;
  }

  /** The "Token Usage" section: a row per model, then the total. */
  usageBlocks(): Block[] {
    const prices = this.#prices;
    if (this.#models.size === 0) {
      return [{ kind: "paragraph", text: "No model requests in this capture." }];
    }
    const rows: string[][] = [];
    const sum = emptyTotals();
    const models = [...this.#models.entries()].sort((a, b) => b[1].requests - a[1].requests);
    const withTools = models.some(([, t]) => t.serverTools.size > 0);
    let priced = false;
    for (const [model, t] of models) {
      for (const k of COUNTS) sum[k] += t[k];
      for (const [tool, n] of t.serverTools) {
        sum.serverTools.set(tool, (sum.serverTools.get(tool) ?? 0) + n);
      }
      sum.cost += t.cost;
      const known = model !== UNKNOWN_MODEL && priceKey(prices, model) !== undefined;
      // Not "$0.00": a request without usage (a cut stream) may well have been billed.
      const cost = noUsage(t)
        ? "no usage"
        : !known
        ? "no price"
        : money(t.cost) + (t.unpriced ? " (partly unpriced)" : "");
      if (t.unpriced) sum.unpriced = true;
      if (known && !noUsage(t)) priced = true;
      rows.push(row(model, t, cost, withTools));
    }
    // "$0.00 (some unpriced)" would read as a price when the table knows none of the models.
    const total = noUsage(sum)
      ? "no usage"
      : !priced
      ? "no price"
      : money(sum.cost) + (sum.unpriced ? " (some unpriced)" : "");
    rows.push(row("Total", sum, total, withTools));
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
          ...(withTools ? ["Server tool requests"] : []),
          `Est. cost (${prices.currency})`,
        ],
        rows,
      },
      {
        kind: "paragraph",
        text: `Input includes cached input and cache writes; output includes reasoning. ` +
          `Sub-calls billed with an exchange (compaction, advisor) count for the model that ran ` +
          `them. The cost is an estimate from ${
            prices.builtin ? "the built-in price table" : `the price table ${prices.source}`
          } dated ${prices.date}, not a bill; "no price" marks models the table does not list ` +
          `(see probe prices).`,
      },
    ];
  }
}

/** No request of the row reported usage, and no sub-call of another's ran on its model. */
function noUsage(t: ModelTotals): boolean {
  return t.withUsage === 0 && t.input === 0 && t.output === 0 && t.cost === 0;
}

function addTokens(t: ModelTotals, usage: Usage): void {
  t.input += usage.input;
  t.cached += usage.cached ?? 0;
  t.cacheWrite += usage.cacheWrite ?? 0;
  t.output += usage.output;
  t.reasoning += usage.reasoning ?? 0;
}

function row(model: string, t: ModelTotals, cost: string, withTools: boolean): string[] {
  const tools = [...t.serverTools].filter(([, n]) => n > 0).map(([k, n]) =>
    `${k.replace(/_requests$/, "")} ${n}`
  );
  return [
    model,
    String(t.requests),
    String(t.withUsage),
    String(t.input),
    String(t.cached),
    String(t.cacheWrite),
    String(t.output),
    String(t.reasoning),
    ...(withTools ? [tools.join(", ")] : []),
    cost,
  ];
}

function money(amount: number): string {
  return amount < 0.01 && amount > 0 ? `$${amount.toFixed(4)}` : `$${amount.toFixed(2)}`;
}
