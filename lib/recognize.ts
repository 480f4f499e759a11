/**
 * Which agent made a capture, when `--target` is not given: each target declares the request
 * headers that name it (`recognizedBy`: a user-agent or originator prefix, ...), and the agents
 * seen in a capture give the report its title. Nothing here knows an agent.
 *
 * @module
 */
import { getHeader } from "./headers.ts";
import type { Headers, Target } from "./types.ts";

/** The title of a report whose capture names no agent, or several. */
export const NEUTRAL_TITLE = "Traffic Analysis Report";

/**
 * Header names to redact besides the built-in list: the target's; without one, those of every
 * known target. Which agent sent an exchange is not always said (an agent's `HEAD /` health
 * check may name no agent, yet its response carry an organization id), so masking them all is
 * the safe side.
 */
export function extraRedactions(target: Target | undefined, known: readonly Target[]): string[] {
  if (target) return target.redactedHeaders;
  return [...new Set(known.flatMap((t) => t.redactedHeaders.map((h) => h.toLowerCase())))];
}

/** Compiled `recognizedBy` rules of each target (a bad pattern never matches). */
function rulesOf(target: Target): { header: string; pattern: RegExp }[] {
  const rules: { header: string; pattern: RegExp }[] = [];
  for (const rule of target.recognizedBy ?? []) {
    try {
      rules.push({ header: rule.header, pattern: new RegExp(rule.pattern, "i") });
    } catch {
      // A target file's pattern that does not compile recognises nothing.
    }
  }
  return rules;
}

/**
 * Counts, request by request, the agents that `targets` recognise in their headers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AgentTally, NEUTRAL_TITLE } from "./recognize.ts";
 * import type { Target } from "./types.ts";
 *
 * const toy = {
 *   name: "toy",
 *   reportTitle: "Toy Agent Report",
 *   recognizedBy: [{ header: "user-agent", pattern: "^toy-agent/" }],
 * } as Target;
 * const tally = new AgentTally([toy]);
 * assert.equal(tally.title(), NEUTRAL_TITLE);
 * tally.add({ "User-Agent": "toy-agent/1.2" });
 * tally.add({ "User-Agent": "curl/8" });
 * assert.equal(tally.title(), "Toy Agent Report");
 * assert.deepEqual(tally.agents(), ["toy"]);
 * ```
 */
export class AgentTally {
  #rules: { target: Target; rules: { header: string; pattern: RegExp }[] }[];
  #seen = new Map<string, Target>();

  constructor(targets: readonly Target[]) {
    this.#rules = targets.map((target) => ({ target, rules: rulesOf(target) }))
      .filter((t) => t.rules.length > 0);
  }

  /** The target whose rules match these request headers (the first that does), if any. */
  recognize(headers: Headers): Target | undefined {
    for (const { target, rules } of this.#rules) {
      for (const { header, pattern } of rules) {
        const value = getHeader(headers, header);
        if (value !== "" && pattern.test(value)) return target;
      }
    }
    return undefined;
  }

  /** Counts the agent of one request. */
  add(headers: Headers): void {
    const target = this.recognize(headers);
    if (target && !this.#seen.has(target.name)) this.#seen.set(target.name, target);
  }

  /** Names of the agents seen, in order of first appearance. */
  agents(): string[] {
    return [...this.#seen.keys()];
  }

  /** The one agent's report title, or {@link NEUTRAL_TITLE} for none or several. */
  title(): string {
    return this.#seen.size === 1 ? [...this.#seen.values()][0].reportTitle : NEUTRAL_TITLE;
  }
}
