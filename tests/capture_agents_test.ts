/**
 * The four original agent CLIs captured end to end in reverse mode, each with a tool round
 * trip (tests/tools/agent_runs.ts says what is checked), then their four captures,
 * concatenated, analyzed as one: each exchange is rendered by its own API's renderer.
 *
 * Only the first mitmdump found is used: the real CLIs take seconds each, and the proxy
 * itself is tested on every mitmdump by capture_proxy_test.ts and capture_cli_test.ts.
 */
import assert from "node:assert/strict";
import { codexApiKeyLogin, codexEnv, codexExecArgs } from "./tools/agent_env.ts";
import {
  type Agent,
  type AgentRun,
  agentTest,
  reportExchanges,
  tableRows,
} from "./tools/agent_runs.ts";
import { runProbe } from "./tools/capture_helpers.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const AGENTS_CODEX_KEY = "sk-proj-FAKEprobeTEST9876543210zyxwvutsrqponmlkjihgfedcbaZYXW";

const AGENTS: Agent[] = [
  {
    target: "claude-code",
    bin: "claude",
    api: "anthropic",
    key: "sk-ant-api03-FAKEprobeTEST0123456789abcdefghijklmnopqrstuvwxyzABCDEFG-AA",
    keyHeader: ["x-api-key", (k) => k],
    tool: "Bash",
    env: (home, key) => ({
      ANTHROPIC_API_KEY: key,
      CLAUDE_CONFIG_DIR: `${home}/.claude`,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
    }),
    // The prompt goes before --allowedTools, which takes every argument after it.
    args: (prompt) => ["-p", prompt, "--allowedTools", "Bash(cat:*)"],
  },
  {
    target: "gemini-cli",
    bin: "gemini",
    api: "gemini",
    key: "AIzaSyFAKEprobeTEST0123456789abcdefghi",
    keyHeader: ["x-goog-api-key", (k) => k],
    // Non-interactive Gemini CLI offers no shell tool: read_file runs without approval.
    tool: "read_file",
    env: (_home, key) => ({ GEMINI_API_KEY: key, GEMINI_CLI_TRUST_WORKSPACE: "true" }),
    prepare: async (home) => {
      await Deno.mkdir(`${home}/.gemini`);
      await Deno.writeTextFile(
        `${home}/.gemini/settings.json`,
        JSON.stringify({
          security: { auth: { selectedType: "gemini-api-key" } },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
        }),
      );
    },
    args: (prompt) => ["-p", prompt],
    extraProxies: ["codeassist"],
  },
  {
    target: "opencode",
    bin: "opencode",
    api: "chat",
    key: "sk-proj-FAKEprobeTEST0123456789abcdefghijklmnopqrstuvwxyzABCD",
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    tool: "bash",
    env: (_home, key) => ({
      OPENAI_API_KEY: key,
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
    }),
    // opencode runs `npm install @opencode-ai/plugin` in its config dir unless it finds the
    // package there already: a lock file that lists it keeps it off the network.
    prepare: async (home) => {
      const dir = `${home}/.config/opencode`;
      const plugin = `${dir}/node_modules/@opencode-ai/plugin`;
      await Deno.mkdir(plugin, { recursive: true });
      const pkg = { name: "@opencode-ai/plugin", version: "1.18.33" };
      await Deno.writeTextFile(`${plugin}/package.json`, JSON.stringify(pkg));
      const deps = { [pkg.name]: pkg.version };
      await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ dependencies: deps }));
      await Deno.writeTextFile(
        `${dir}/package-lock.json`,
        JSON.stringify({
          name: "opencode",
          lockfileVersion: 3,
          requires: true,
          packages: {
            "": { dependencies: deps },
            [`node_modules/${pkg.name}`]: { version: pkg.version },
          },
        }),
      );
    },
    args: (prompt) => ["run", prompt],
  },
  {
    target: "codex",
    bin: "codex",
    api: "responses",
    key: AGENTS_CODEX_KEY,
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    // Codex's only runner is the freeform `exec` tool (JavaScript calling exec_command).
    tool: "exec",
    env: codexEnv,
    prepare: (home) => codexApiKeyLogin(`${home}/codex`, AGENTS_CODEX_KEY),
    args: (prompt) => codexExecArgs(prompt),
    extraProxies: ["chatgpt"],
  },
];

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
