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
import { type Agent, type AgentRun, agentTest } from "./tools/agent_runs.ts";
import { findMitmdumps } from "./tools/paths.ts";

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
];

const runs: AgentRun[] = [];
for (const agent of AGENTS) agentTest(agent, MITMDUMP, runs);
