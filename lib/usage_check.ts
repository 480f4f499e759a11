/**
 * Whether an exchange's usage can be counted: every count a whole number of tokens, and the
 * parts within their wholes (cached and written input within input, reasoning within output).
 * A capture is untrusted: a count of 1e308 or -5 would otherwise reach the totals as
 * "$Infinity" or a negative cost.
 */
import type { Usage } from "./types.ts";

/** The usage to count (none when a count is not a count), and what is wrong with it. */
export interface CheckedUsage {
  usage: Usage | undefined;
  problems: string[];
}

const isCount = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;

/** The counts of `usage` (its sub-calls' included) that are not token counts, as "name value". */
function notCounts(usage: Usage, prefix = ""): string[] {
  const bad: string[] = [];
  const check = (name: string, n: unknown) => {
    if (n !== undefined && !isCount(n)) bad.push(`${prefix}${name} ${n}`);
  };
  for (
    const name of ["input", "output", "total", "cached", "cacheWrite", "cacheWrite1h"] as const
  ) {
    check(name, usage[name]);
  }
  check("reasoning", usage.reasoning);
  check("toolPrompt", usage.toolPrompt);
  for (const [tool, n] of Object.entries(usage.serverTools ?? {})) check(tool, n);
  for (const sub of usage.subCalls ?? []) bad.push(...notCounts(sub.usage, `${sub.kind} `));
  return bad;
}

/** The parts of `usage` larger than their wholes, as "part N > whole M". */
function overflows(usage: Usage): string[] {
  const out: string[] = [];
  const within = (part: string, p: number, whole: string, w: number) => {
    if (p > w) out.push(`${part} ${p} > ${whole} ${w}`);
  };
  const cached = usage.cached ?? 0;
  const written = usage.cacheWrite ?? 0;
  if (cached + written > usage.input) {
    if (written === 0) within("cached", cached, "input", usage.input);
    else within("cached + cache writes", cached + written, "input", usage.input);
  }
  within("1h cache writes", usage.cacheWrite1h ?? 0, "cache writes", written);
  within("tool prompt", usage.toolPrompt ?? 0, "input", usage.input);
  within("reasoning", usage.reasoning ?? 0, "output", usage.output);
  return out;
}

/**
 * Checks a renderer's usage: counts that are not counts leave the exchange uncounted (one
 * problem naming them); parts larger than their wholes are counted as the API said, with a
 * problem.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkUsage } from "./usage_check.ts";
 *
 * const bad = checkUsage({ input: 10, output: -5, total: 5 });
 * assert.equal(bad.usage, undefined);
 * assert.deepEqual(bad.problems, ["usage not counted: output -5 is not a token count"]);
 * ```
 */
export function checkUsage(usage: Usage): CheckedUsage {
  const bad = notCounts(usage);
  if (bad.length > 0) {
    const what = bad.length === 1 ? "is not a token count" : "are not token counts";
    return { usage: undefined, problems: [`usage not counted: ${bad.join(", ")} ${what}`] };
  }
  const over = overflows(usage);
  return {
    usage,
    problems: over.length > 0 ? [`usage does not add up: ${over.join("; ")}`] : [],
  };
}
