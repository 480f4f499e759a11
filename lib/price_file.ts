/**
 * A price table from the user's own JSONC file (`--prices FILE`): syntax errors name the line
 * and column, other mistakes the key.
 */
import { parse, type ParseError } from "jsonc-parser";
import { syntaxError } from "./jsonc_error.ts";
import { fileReason, InputError } from "./errors.ts";
import { checkPriceTable, type PriceTable } from "./prices.ts";

/** Parses and checks a price table's text; `source` names it in errors. */
export function parsePriceTable(text: string, source: string): PriceTable {
  const errors: ParseError[] = [];
  const value = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    throw new InputError(source, `${syntaxError(text, errors[0])} (in the price table)`);
  }
  return checkPriceTable(value, source);
}

/** Reads, parses and checks a price table file. */
export async function loadPriceTable(path: string): Promise<PriceTable> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new InputError(path, `cannot read price table: ${fileReason(err)}`);
  }
  return parsePriceTable(text, path);
}
