/**
 * The price table shipped with probe: the model APIs' list prices, dated, in prices.jsonc
 * (embedded as text, so a compiled binary has it). Model ids and vendors are API knowledge, so
 * the data lives here; lib/prices.ts only looks models up in whatever table `main.ts` hands it
 * (this one, or the user's `--prices FILE`).
 */
// An ES module: jsonc-parser (CommonJS, used for users' files) would pull Node's module loader
// into the start-up of every analyze just for this table, which is known to be well-formed.
import stripJsonComments from "strip-json-comments";
import { checkPriceTable, type PriceTable } from "../lib/prices.ts";
import builtinText from "./prices.jsonc" with { type: "text" };

/** The built-in table, checked as a user's file would be. */
export function builtinPriceTable(): PriceTable {
  const json = stripJsonComments(builtinText, { trailingCommas: true });
  return { ...checkPriceTable(JSON.parse(json), "built-in price table"), builtin: true };
}
