/**
 * The price table behind the report's cost estimate, and its lookup. The table is handed in:
 * `main.ts` passes the built-in one (renderers/prices.ts, which knows the model APIs) or the
 * user's `--prices FILE` (price_file.ts). Models are found by exact id, explicit alias or dated
 * snapshot, never by prefix: a newer model is "no price" rather than priced as an older one.
 */
import { InputError } from "./errors.ts";
import type { Usage } from "./types.ts";

/** US dollars (or `currency`) per million tokens. */
export interface TokenRates {
  input: number;
  cached_input?: number;
  /** Cache writes (5-minute writes where an API offers two lifetimes). */
  cache_write?: number;
  /** 1-hour cache writes; defaults to `cache_write`. */
  cache_write_1h?: number;
  output: number;
}

export interface ModelPrice extends TokenRates {
  /** Rates of every token of a request whose input is above `above` tokens. */
  long_context?: TokenRates & { above: number };
}

export interface PriceTable {
  date: string;
  currency: string;
  models: Record<string, ModelPrice>;
  /** Other ids of priced models: alias → key of `models`. */
  aliases?: Record<string, string>;
  /** Price per request of a server-side tool, by the usage field that counts its requests. */
  server_tools?: Record<string, number>;
  /** Where the table came from: its file, or "built-in price table". */
  source: string;
  /** The table shipped with probe (rather than the user's file). */
  builtin?: boolean;
}

const RATE_FIELDS = ["cached_input", "cache_write", "cache_write_1h"] as const;

/** The largest price a table may give (per million tokens, or per request). */
const MAX_RATE = 1_000_000;

/** YYYY-MM-DD naming a day of the calendar (not 2030-13-45, which the report would print). */
function isCalendarDate(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const day = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && day.toISOString().startsWith(text);
}

/**
 * Checks a parsed price table; errors name the file, the key and, given `lineAt` (the line of
 * the value at a key path, when the text is at hand), its line.
 */
export function checkPriceTable(
  value: unknown,
  source: string,
  lineAt?: (segments: string[]) => number,
): PriceTable {
  const bad = (segments: string[], what: string) =>
    new InputError(
      source,
      `"${segments.join(".") || "(top level)"}" must be ${what} (see the built-in table for ` +
        "the format)",
      lineAt?.(segments),
    );
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad([], "an object");
  }
  const table = value as Record<string, unknown>;
  if (typeof table.date !== "string" || !isCalendarDate(table.date)) {
    throw bad(["date"], "a date (YYYY-MM-DD)");
  }
  // A negative or absurd rate would make every cost in the report negative or Infinity.
  const rate = (v: unknown) => typeof v === "number" && v >= 0 && v <= MAX_RATE;
  const RATE = `a number from 0 to ${MAX_RATE}`;
  if (typeof table.models !== "object" || table.models === null) {
    throw bad(["models"], "an object of model prices");
  }
  const checkRates = (key: string[], p: Record<string, unknown>) => {
    for (const field of ["input", "output"]) {
      if (!rate(p?.[field])) throw bad([...key, field], RATE);
    }
    for (const field of RATE_FIELDS) {
      if (p[field] !== undefined && !rate(p[field])) throw bad([...key, field], RATE);
    }
  };
  for (const [name, price] of Object.entries(table.models as Record<string, unknown>)) {
    const p = price as Record<string, unknown>;
    checkRates(["models", name], p);
    if (p.long_context !== undefined) {
      const lc = p.long_context as Record<string, unknown>;
      if (typeof lc !== "object" || lc === null) {
        throw bad(["models", name, "long_context"], "an object");
      }
      checkRates(["models", name, "long_context"], lc);
      if (typeof lc.above !== "number") {
        throw bad(["models", name, "long_context", "above"], "a number of input tokens");
      }
    }
  }
  const models = table.models as Record<string, ModelPrice>;
  const aliases = table.aliases ?? {};
  if (typeof aliases !== "object" || aliases === null) throw bad(["aliases"], "an object");
  for (const [alias, target] of Object.entries(aliases as Record<string, unknown>)) {
    if (typeof target !== "string" || !(target in models)) {
      throw bad(["aliases", alias], 'the name of a model in "models"');
    }
  }
  const tools = table.server_tools ?? {};
  if (typeof tools !== "object" || tools === null) throw bad(["server_tools"], "an object");
  for (const [name, fee] of Object.entries(tools as Record<string, unknown>)) {
    if (!rate(fee)) throw bad(["server_tools", name], `${RATE} (per request)`);
  }
  const out: PriceTable = {
    date: table.date,
    currency: typeof table.currency === "string" ? table.currency : "USD",
    models,
    source,
  };
  if (table.aliases !== undefined) out.aliases = aliases as Record<string, string>;
  if (table.server_tools !== undefined) out.server_tools = tools as Record<string, number>;
  return out;
}

/**
 * A table that prices nothing: for a builder whose cost estimate nobody reads (the spans carry
 * no cost), and for APIs no table knows.
 */
export const NO_PRICES: PriceTable = Object.freeze({
  date: "",
  currency: "USD",
  models: Object.freeze({}),
  source: "no price table",
});

/**
 * A model id as the table keys it: lower case, without a path ("vendor/…", "models/…"), a
 * version after '@' ("…@20250929") or a version suffix ("…-v1:0").
 */
function normalizeModel(model: string): string {
  return model.toLowerCase().trim()
    .replace(/^.*\//, "")
    .replace(/@.*$/, "")
    .replace(/-v\d+(?::\d+)?$/, "");
}

/**
 * A cloud model catalogue's wrapping of a vendor's model id: "vendor.model", with an optional
 * two-letter region before it ("us.vendor.model"). Removed only when the whole id has no price.
 */
const CATALOGUE_PREFIX = /^(?:[a-z]{2}\.)?[a-z]+\./;

/** A dated snapshot suffix: "-20250929" or "-2025-08-07". */
const SNAPSHOT = /-(?:\d{8}|\d{4}-\d{2}-\d{2})$/;

/**
 * The table key that prices `model`, or undefined: exact id, alias, or dated snapshot, tried
 * on the id and then on the id without a catalogue prefix.
 */
export function priceKey(table: PriceTable, model: string): string | undefined {
  const lookup = (id: string) => {
    if (Object.hasOwn(table.models, id)) return id;
    const alias = table.aliases && Object.hasOwn(table.aliases, id) ? table.aliases[id] : undefined;
    return alias !== undefined && Object.hasOwn(table.models, alias) ? alias : undefined;
  };
  const find = (name: string) =>
    lookup(name) ?? (SNAPSHOT.test(name) ? lookup(name.replace(SNAPSHOT, "")) : undefined);
  const name = normalizeModel(model);
  const bare = name.replace(CATALOGUE_PREFIX, "");
  return find(name) ?? (bare !== name ? find(bare) : undefined);
}

/** The price of a model (see {@link priceKey}), or undefined when the table has none. */
export function priceFor(table: PriceTable, model: string): ModelPrice | undefined {
  const key = priceKey(table, model);
  return key === undefined ? undefined : table.models[key];
}

/** The rates that apply to one request: the long-context tier when its input is above it. */
export function ratesFor(price: ModelPrice, input: number): TokenRates {
  const lc = price.long_context;
  return lc && input > lc.above ? lc : price;
}

/**
 * Estimated token cost of one request's usage (sub-calls and server tools not included; see
 * {@link exchangeCost}). Apply it per request: the long-context tier depends on its input.
 */
export function costOf(usage: Usage, price: ModelPrice): number {
  const r = ratesFor(price, usage.input);
  const cached = usage.cached ?? 0;
  const written = usage.cacheWrite ?? 0;
  const written1h = Math.min(usage.cacheWrite1h ?? 0, written);
  const fresh = Math.max(0, usage.input - cached - written);
  const write5m = r.cache_write ?? r.input;
  return (fresh * r.input + cached * (r.cached_input ?? r.input) +
    (written - written1h) * write5m + written1h * (r.cache_write_1h ?? write5m) +
    usage.output * r.output) / 1e6;
}

/** What one exchange cost, split by the model that ran each part. */
export interface ExchangeCost {
  /** The priced parts' sum (tokens and server-tool fees). */
  cost: number;
  /** Cost per model (the exchange's own model and any sub-call's). */
  byModel: Map<string, number>;
  /** What could not be priced: models without a price, server tools without a fee. */
  unpriced: string[];
}

/**
 * Estimated cost of an exchange's usage answered by `model`: its tokens, each sub-call at its
 * own model's price, and per-request server-tool fees (charged to `model`).
 */
export function exchangeCost(
  table: PriceTable,
  model: string | undefined,
  usage: Usage,
): ExchangeCost {
  const out: ExchangeCost = { cost: 0, byModel: new Map(), unpriced: [] };
  const add = (who: string, amount: number) => {
    out.cost += amount;
    out.byModel.set(who, (out.byModel.get(who) ?? 0) + amount);
  };
  const priceTokens = (who: string | undefined, u: Usage) => {
    const price = who === undefined ? undefined : priceFor(table, who);
    if (who === undefined || !price) {
      const name = who ?? "(unknown model)";
      if (!out.unpriced.includes(name)) out.unpriced.push(name);
      return;
    }
    add(who, costOf(u, price));
  };
  priceTokens(model, usage);
  for (const sub of usage.subCalls ?? []) priceTokens(sub.model ?? model, sub.usage);
  for (const [tool, count] of Object.entries(usage.serverTools ?? {})) {
    if (count <= 0) continue;
    const fee = table.server_tools?.[tool];
    if (fee === undefined) out.unpriced.push(tool);
    else if (model !== undefined) add(model, fee * count);
  }
  return out;
}

/** The table as text lines for `probe prices`: its date and source, then one row per model. */
export function priceTableLines(table: PriceTable): string[] {
  const n = (v: number | undefined) => (v === undefined ? "-" : String(v));
  const rows: string[][] = [["Model", "Input", "Cached", "Cache write 5m/1h", "Output", "Note"]];
  const aliasesOf = new Map<string, string[]>();
  for (const [alias, key] of Object.entries(table.aliases ?? {})) {
    aliasesOf.set(key, [...(aliasesOf.get(key) ?? []), alias]);
  }
  for (const [name, p] of Object.entries(table.models)) {
    const write = p.cache_write === undefined && p.cache_write_1h === undefined
      ? "-"
      : `${n(p.cache_write)} / ${n(p.cache_write_1h ?? p.cache_write)}`;
    const notes: string[] = [];
    const lc = p.long_context;
    if (lc) {
      notes.push(
        `above ${lc.above} input: ${lc.input} in, ${n(lc.cached_input)} cached, ${lc.output} out`,
      );
    }
    const aliases = aliasesOf.get(name);
    if (aliases) notes.push(`also ${aliases.join(", ")}`);
    rows.push([name, n(p.input), n(p.cached_input), write, n(p.output), notes.join("; ")]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = [
    `Price table: ${table.builtin ? "built-in" : table.source}, checked ${table.date}`,
    `${table.currency} per million tokens.`,
    "",
    ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()),
  ];
  const tools = Object.entries(table.server_tools ?? {});
  if (tools.length > 0) {
    lines.push("", `Server tools (${table.currency} per request):`);
    for (const [tool, fee] of tools) lines.push(`  ${tool}: ${fee}`);
  }
  lines.push(
    "",
    "Models are matched by exact id, alias or dated snapshot; any other model has no price.",
  );
  return lines;
}
