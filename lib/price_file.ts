/**
 * A price table from the user's own JSONC file (`--prices FILE`): syntax errors name the line
 * and column, other mistakes the key.
 */
import { parse, type ParseError, parseTree } from "jsonc-parser";
import { lineAt, syntaxError } from "./jsonc_error.ts";
import { fileReason, InputError } from "./errors.ts";
import { checkPriceTable, type PriceTable } from "./prices.ts";

/** Parses and checks a price table's text; `source` names it in errors. */
export function parsePriceTable(text: string, source: string): PriceTable {
  if (text.trim() === "") {
    throw new InputError(
      source,
      "is empty: expected a price table (probe prices shows the format)",
    );
  }
  const errors: ParseError[] = [];
  const options = { allowTrailingComma: true, disallowComments: false };
  const value = parse(text, errors, options);
  if (errors.length > 0) {
    throw new InputError(source, `${syntaxError(text, errors[0])} (in the price table)`);
  }
  // The tree is built only to name the line of a mistake.
  const line = (segments: string[]) => {
    const root = parseTree(text, [], options);
    return root ? lineAt(root, text, segments) : 1;
  };
  return checkPriceTable(value, source, line);
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
