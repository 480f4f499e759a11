/**
 * The four original agent CLIs captured end to end in reverse mode, each with a tool round
 * trip (tests/tools/agent_runs.ts says what is checked), then their four captures,
 * concatenated, analyzed as one: each exchange is rendered by its own API's renderer.
 *
 * Only the first mitmdump found is used: the real CLIs take seconds each, and the proxy
 * itself is tested on every mitmdump by capture_proxy_test.ts and capture_cli_test.ts.
 */
import assert from "node:assert/strict";
import { type AgentRun, agentTest, reportExchanges, tableRows } from "./tools/agent_runs.ts";
import { ORIGINAL_AGENTS } from "./tools/agents.ts";
import { runProbe } from "./tools/capture_helpers.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const AGENTS = ORIGINAL_AGENTS;

const runs: AgentRun[] = [];
for (const agent of AGENTS) agentTest(agent, MITMDUMP, runs);

Deno.test("the four agents' captures analyzed as one: each exchange by its own renderer", async () => {
  assert.equal(runs.length, AGENTS.length, "every agent test ran first");
  const dir = await Deno.makeTempDir({ prefix: "probe-mixed-" });
  try {
    await Deno.writeTextFile(`${dir}/traffic.jsonl`, runs.map((r) => r.capture).join(""));
    const out = await runProbe(
      ["analyze", "--target", "openai", "--input", `${dir}/traffic.jsonl`],
    );
    assert.equal(out.code, 0, out.stderr.join("\n"));
    const report = await Deno.readTextFile(`${dir}/analysis_report.md`);
    const mixed = reportExchanges(report).map((x) => x.renderer);
    const each = runs.flatMap((r) => reportExchanges(r.report).map((x) => x.renderer));
    assert.deepEqual(mixed, each, "the same renderer as in each agent's own report");
    // Non-model calls (e.g. a HEAD /) go to the generic renderer when an agent makes them.
    assert.deepEqual(
      [...new Set(mixed)].filter((r) => r !== "generic").toSorted(),
      ["anthropic_messages", "gemini", "openai_chat", "openai_responses"],
    );
    // Every model row of the four reports, and their sum.
    const rows = (r: string) => tableRows(r, "Token Usage").map((c) => c.slice(0, 8));
    const models = runs.flatMap((r) => rows(r.report).slice(0, -1));
    assert.deepEqual(rows(report).slice(0, -1).toSorted(), models.toSorted());
    const sum = models.reduce(
      (acc, row) => acc.map((v, i) => i === 0 ? v : String(Number(v) + Number(row[i]))),
      ["Total", "0", "0", "0", "0", "0", "0", "0"],
    );
    assert.deepEqual(rows(report).at(-1), sum);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
