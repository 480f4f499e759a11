/**
 * The price table behind the report's cost estimate: a JSONC file kept in the repo (embedded
 * as text, so a compiled binary has it) or one the user passes with `--prices FILE`.
 */
import { parse, type ParseError, printParseErrorCode } from "jsonc-parser";
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
  /** Where the table came from, for the report's label. */
  source: string;
}

/** Parses and checks a price table; errors name the file and the key. */
export function parsePriceTable(text: string, source: string): PriceTable {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const e = errors[0];
    const line = text.slice(0, e.offset).split("\n").length;
    throw new InputError(source, `line ${line}: ${printParseErrorCode(e.error)} in price table`);
  }
  const bad = (key: string, what: string) =>
    new InputError(source, `"${key}" must be ${what} (see the built-in table for the format)`);
  if (typeof value !== "object" || value === null) throw bad("(top level)", "an object");
  if (typeof value.date !== "string") throw bad("date", "a date string");
  if (typeof value.models !== "object" || value.models === null) {
    throw bad("models", "an object of model prices");
  }
  for (const [name, price] of Object.entries(value.models as Record<string, unknown>)) {
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
    date: value.date,
    currency: typeof value.currency === "string" ? value.currency : "USD",
    models: value.models,
    source,
  };
}

/** The table shipped with probe. */
export function builtinPriceTable(): PriceTable {
  return parsePriceTable(builtinText, "built-in price table");
}

export async function loadPriceTable(path: string): Promise<PriceTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new InputError(path, `cannot read price table: ${(err as Error).message}`);
  }
  return parsePriceTable(text, path);
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
