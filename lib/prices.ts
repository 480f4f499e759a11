/**
 * The price table behind the report's cost estimate: a JSONC file kept in the repo (embedded
 * as text, so a compiled binary has it) or one the user passes with `--prices FILE`
 * (price_file.ts).
 */
// An ES module: jsonc-parser (CommonJS, used for users' files) would pull Node's module loader
// into the start-up of every analyze just for this table, which is known to be well-formed.
import stripJsonComments from "strip-json-comments";
import { InputError } from "./errors.ts";
import builtinText from "./prices.jsonc" with { type: "text" };
import type { Usage } from "./types.ts";

/** US dollars (or `currency`) per million tokens. */
export interface ModelPrice {
  input: number;
  cached_input?: number;
  cache_write?: number;
  output: number;
}

export interface PriceTable {
  date: string;
  currency: string;
  models: Record<string, ModelPrice>;
  /** Where the table came from: its file, or "built-in price table". */
  source: string;
  /** The table shipped with probe (rather than the user's file). */
  builtin?: boolean;
}

/** Checks a parsed price table; errors name the file and the key. */
export function checkPriceTable(value: unknown, source: string): PriceTable {
  const bad = (key: string, what: string) =>
    new InputError(source, `"${key}" must be ${what} (see the built-in table for the format)`);
  if (typeof value !== "object" || value === null) throw bad("(top level)", "an object");
  const table = value as Record<string, unknown>;
  if (typeof table.date !== "string") throw bad("date", "a date string");
  if (typeof table.models !== "object" || table.models === null) {
    throw bad("models", "an object of model prices");
  }
  for (const [name, price] of Object.entries(table.models as Record<string, unknown>)) {
    const p = price as Record<string, unknown>;
    for (const field of ["input", "output"]) {
      if (typeof p?.[field] !== "number") throw bad(`models.${name}.${field}`, "a number");
    }
    for (const field of ["cached_input", "cache_write"]) {
      if (p[field] !== undefined && typeof p[field] !== "number") {
        throw bad(`models.${name}.${field}`, "a number");
      }
    }
  }
  return {
    date: table.date,
    currency: typeof table.currency === "string" ? table.currency : "USD",
    models: table.models as Record<string, ModelPrice>,
    source,
  };
}

/** The table shipped with probe. */
export function builtinPriceTable(): PriceTable {
  const json = stripJsonComments(builtinText, { trailingCommas: true });
  return { ...checkPriceTable(JSON.parse(json), "built-in price table"), builtin: true };
}

/** The price of a model: the longest table key its name starts with (provider prefix ignored). */
export function priceFor(table: PriceTable, model: string): ModelPrice | undefined {
  const name = model.replace(/^.*\//, "").toLowerCase();
  let best: string | undefined;
  for (const key of Object.keys(table.models)) {
    if (name.startsWith(key.toLowerCase()) && (!best || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : table.models[best];
}

/** Estimated cost of some usage at a price. */
export function costOf(usage: Usage, price: ModelPrice): number {
  const cached = usage.cached ?? 0;
  const written = usage.cacheWrite ?? 0;
  const fresh = Math.max(0, usage.input - cached - written);
  return (fresh * price.input + cached * (price.cached_input ?? price.input) +
    written * (price.cache_write ?? price.input) + usage.output * price.output) / 1e6;
}
