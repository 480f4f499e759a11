/**
 * The agents added to the first four, each captured end to end with its real CLI
 * (tests/tools/agent_runs.ts says what is checked), in the mode its target defaults to:
 * - pi (forward): undici's EnvHttpProxyAgent makes it follow HTTPS_PROXY; Responses API.
 * - aider (forward): Python (litellm, httpx) follows HTTPS_PROXY and SSL_CERT_FILE; it offers
 *   the model no tools, so one plain turn.
 * - Qwen Code (reverse): on Node.js before 24 its fetch ignores HTTPS_PROXY; OPENAI_BASE_URL.
 * The other new targets (Copilot, Cline, Kilo, Crush, Continue) and why they are not run here
 * are in the README's agent table.
 */
import assert from "node:assert/strict";
import { startFakeUpstream } from "./fake_upstream.ts";
import { cleanEnv } from "./tools/agent_env.ts";
import { type Agent, type AgentRun, agentTest } from "./tools/agent_runs.ts";
import { readJsonl, runProbe } from "./tools/capture_helpers.ts";
import { agentBin, findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const OPENAI_KEY = "sk-proj-FAKEprobeTESTmore0123456789abcdefghijklmnopqrstuvwxyzAB";
const OPENAI_HEADER: Agent["keyHeader"] = ["authorization", (k) => `Bearer ${k}`];

const AGENTS: Agent[] = [
  {
    label: "probe capture pi -- pi -p (forward mode, OpenAI provider)",
    target: "pi",
    mode: "forward",
    bin: "pi",
    api: "responses",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "bash",
    env: (_home, key) => ({ OPENAI_API_KEY: key, PI_OFFLINE: "1" }),
    args: (prompt) => ["-p", prompt, "--provider", "openai", "--model", "gpt-4o", "--no-session"],
  },
  {
    label: "probe capture aider -- aider --message (forward mode, OpenAI model)",
    target: "aider",
    mode: "forward",
    bin: "aider",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: null,
    env: (_home, key) => ({ OPENAI_API_KEY: key }),
    args: (prompt) => [
      "--model",
      "gpt-4o",
      "--message",
      prompt,
      "--yes-always",
      "--no-git",
      "--no-check-update",
      "--no-show-model-warnings",
      "--no-analytics",
      "--no-pretty",
    ],
  },
  {
    label: "probe capture qwen-code -- qwen -p (reverse mode, OpenAI-compatible sign-in)",
    target: "qwen-code",
    mode: "reverse",
    bin: "qwen",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    tool: "read_file",
    env: (_home, key) => ({ OPENAI_API_KEY: key, OPENAI_MODEL: "gpt-4o" }),
    prepare: async (home) => {
      await Deno.mkdir(`${home}/.qwen`);
      await Deno.writeTextFile(
        `${home}/.qwen/settings.json`,
        JSON.stringify({
          security: { auth: { selectedType: "openai" } },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
        }),
      );
    },
    args: (prompt) => ["-p", prompt],
  },
  {
    label: "probe capture continue -- cn -p (forward mode, OpenAI model from config.yaml)",
    target: "continue",
    mode: "forward",
    bin: "cn",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "Bash",
    env: () => ({}),
    prepare: async (home) => {
      await Deno.writeTextFile(
        `${home}/config.yaml`,
        [
          "name: probe-test",
          "version: 0.0.1",
          "schema: v1",
          "models:",
          "  - name: gpt-4o",
          "    provider: openai",
          "    model: gpt-4o",
          `    apiKey: ${OPENAI_KEY}`,
          "    roles: [chat]",
          "",
        ].join("\n"),
      );
    },
    args: (prompt) => ["-p", prompt, "--auto", "--config", "../config.yaml"],
  },
  {
    label: "probe capture cline -- cline PROMPT (forward mode, OpenAI provider)",
    target: "cline",
    mode: "forward",
    bin: "cline",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "run_commands",
    env: () => ({}),
    args: (prompt) => ["-P", "openai", "-k", OPENAI_KEY, "-m", "gpt-4o", prompt],
  },
];

const runs: AgentRun[] = [];
for (const agent of AGENTS) agentTest(agent, MITMDUMP, runs);

/**
 * GitHub Copilot CLI cannot finish a turn offline: after its GitHub token check
 * (api.github.com/copilot_internal/user) it needs GitHub's account answers, whose shape the
 * fake does not know. This shows how far it gets in forward mode: its calls go through probe
 * to the fake with their real URLs, the token redacted, and it exits with an error.
 */
Deno.test(`probe capture copilot -- copilot -p gets as far as its GitHub account check [mitmproxy ${MITMDUMP.version}]`, async () => {
  const program = await agentBin("copilot");
  await using upstream = await startFakeUpstream();
  const home = await Deno.makeTempDir({ prefix: "probe-copilot-" });
  const token =
    "github_pat_11FAKEprobeTEST0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";
  try {
    const r = await runProbe([
      "capture",
      "copilot",
      "--mitmdump",
      MITMDUMP.path,
      "--port",
      "0",
      "--upstream",
      `api=${upstream.url}`,
      "--upstream",
      `github=${upstream.url}`,
      "-o",
      `${home}/capture`,
      "--",
      program,
      "-p",
      "say hi",
      "--allow-all-tools",
    ], {
      cwd: home,
      clearEnv: true,
      env: cleanEnv(home, { COPILOT_GITHUB_TOKEN: token }),
      timeoutMs: 180_000,
    });
    assert.notEqual(r.code, 0, "no turn without GitHub's real account answers");
    const entries = await readJsonl(`${home}/capture/traffic.jsonl`);
    const user = entries.find((e) =>
      e.request.url === "https://api.github.com/copilot_internal/user"
    );
    assert.ok(user, entries.map((e) => e.request.url).join("\n"));
    assert.match(user.request.headers["authorization"] ?? "", /\[REDACTED:[0-9a-f]{8}\]$/);
    const text = JSON.stringify(entries) + r.stdout.join("\n") + r.stderr.join("\n");
    assert.ok(!text.includes(token), "the token appears nowhere");
    const model = /\/(chat\/completions|responses|v1\/messages)$/;
    assert.ok(
      entries.every((e) => !model.test(new URL(e.request.url).pathname)),
      "no model turn was reached",
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
