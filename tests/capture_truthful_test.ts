/**
 * A capture must not change what it measures: the same prompt, run by each real agent CLI
 * directly against the fake upstream and through probe in each mode its target supports,
 * makes the same model requests: method, path, model and stream flag, in the same order
 * (tests/tools/truthful.ts). The direct run points the CLI at the fake with the target's own
 * reverse-mode settings (or the CLI's base-URL setting, for a forward-only target); forward
 * mode sets no base URL at all and `--upstream` sends the real hosts to the fake.
 *
 * The first four agents here, the others in capture_truthful_more_test.ts (two files, so the
 * parallel test run spreads them). One mitmdump (the first found): the proxy's mechanics are
 * tested on every version elsewhere.
 */
import { ORIGINAL_AGENTS } from "./tools/agents.ts";
import { truthfulTest } from "./tools/truthful.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];

for (const agent of ORIGINAL_AGENTS) {
  // Codex, Claude Code and Gemini CLI with a key work in both modes; opencode in reverse.
  const modes = agent.target === "opencode"
    ? ["reverse" as const]
    : ["reverse" as const, "forward" as const];
  truthfulTest(agent, modes, MITMDUMP);
}
