/**
 * Where a JSONC file (a target file, a price table) goes wrong, said the same way for each:
 * the 1-based line, and for a syntax error the column and the parser's reason in words.
 *
 * @module
 */
import { findNodeAtLocation, type Node, type ParseError, printParseErrorCode } from "jsonc-parser";

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/**
 * "syntax error at LINE:COLUMN: reason" for the parser's first error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ParseError, parse } from "jsonc-parser";
 * import { syntaxError } from "./jsonc_error.ts";
 *
 * const text = '{\n  "a": 1\n  "b": 2\n}';
 * const errors: ParseError[] = [];
 * parse(text, errors);
 * assert.equal(syntaxError(text, errors[0]), "syntax error at 3:3: comma expected");
 * ```
 */
export function syntaxError(text: string, error: ParseError): string {
  const column = error.offset - (text.lastIndexOf("\n", error.offset - 1) + 1) + 1;
  // "CommaExpected" -> "comma expected".
  const reason = printParseErrorCode(error.error).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return `syntax error at ${lineOf(text, error.offset)}:${column}: ${reason}`;
}

/** The line of the value at `segments`, or of its nearest ancestor there is (a missing key). */
export function lineAt(root: Node, text: string, segments: readonly (string | number)[]): number {
  for (let n = segments.length; n > 0; n--) {
    const node = findNodeAtLocation(root, segments.slice(0, n));
    if (node) return lineOf(text, node.offset);
  }
  return lineOf(text, root.offset);
}
