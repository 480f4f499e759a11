/**
 * A count with its noun, singular for one: "1 problem", "3 problems".
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { plural } from "./plural.ts";
 *
 * assert.equal(plural(1, "problem"), "1 problem");
 * assert.equal(plural(0, "exchange"), "0 exchanges");
 * ```
 */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
