/**
 * capture_truthful_test.ts for the agents added to the first four: each run directly against
 * the fake upstream and through probe in its target's mode (Kilo Code in both, with the
 * provider each mode uses) makes the same model requests in the same order.
 */
import { MORE_AGENTS } from "./tools/agents.ts";
import { truthfulTest } from "./tools/truthful.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];

for (const agent of MORE_AGENTS) truthfulTest(agent, [agent.mode ?? "reverse"], MITMDUMP);
