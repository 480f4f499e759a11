/**
 * The agent CLIs the end-to-end tests drive (tests/tools/agent_runs.ts runs and checks them),
 * shared by capture_agents_test.ts (the first four, reverse mode), capture_more_agents_test.ts
 * (the others, in their targets' default modes) and capture_truthful_test.ts (each run directly
 * against the fake upstream too). Each has a fake key in its provider's real format; `direct`
 * says how the CLI reaches a server without probe where the target's own reverse settings
 * do not (a forward-mode target has none).
 */
import { COPILOT_MODEL } from "../fake_upstream.ts";
import { cleanEnv, codexApiKeyLogin, codexEnv, codexExecArgs } from "./agent_env.ts";
import type { Agent } from "./agent_runs.ts";
import { agentBin } from "./paths.ts";

const CODEX_KEY = "sk-proj-FAKEprobeTEST9876543210zyxwvutsrqponmlkjihgfedcbaZYXW";
export const OPENAI_KEY = "sk-proj-FAKEprobeTESTmore0123456789abcdefghijklmnopqrstuvwxyzAB";
const OPENAI_HEADER: Agent["keyHeader"] = ["authorization", (k) => `Bearer ${k}`];
/**
 * opencode and Kilo name a session by a model request of its own, sent while the turn ends and
 * cut off when the CLI exits first: with a title given they make none, so each run's requests
 * are the same.
 */
const TITLE = "probe test";
/** A fine-grained GitHub token's shape (the CLI refuses a classic `ghp_` one before any call). */
const GITHUB_TOKEN =
  "github_pat_11FAKEprobeTEST0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";

export const ORIGINAL_AGENTS: Agent[] = [
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
    prepare: opencodePlugin,
    args: (prompt) => ["run", "--title", TITLE, prompt],
  },
  {
    target: "codex",
    bin: "codex",
    api: "responses",
    key: CODEX_KEY,
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    // Codex's only runner is the freeform `exec` tool (JavaScript calling exec_command).
    tool: "exec",
    env: codexEnv,
    prepare: (home) => codexApiKeyLogin(`${home}/codex`, CODEX_KEY),
    args: (prompt) => codexExecArgs(prompt),
    extraProxies: ["chatgpt"],
  },
];

export const MORE_AGENTS: Agent[] = [
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
    direct: async (url, home) => {
      await Deno.mkdir(`${home}/.pi/agent`, { recursive: true });
      const models = { providers: { openai: { baseUrl: `${url}/v1` } } };
      await Deno.writeTextFile(`${home}/.pi/agent/models.json`, JSON.stringify(models));
      return {};
    },
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
    prepare: qwenSettings,
    args: (prompt) => ["-p", prompt],
  },
  {
    label: "probe capture qwen-code --mode forward -- qwen -p (OpenAI's own base URL)",
    target: "qwen-code",
    mode: "forward",
    bin: "qwen",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "read_file",
    // Its OpenAI-compatible sign-in has a base URL of its own by default: OpenAI's is named.
    env: (_home, key) => ({
      OPENAI_API_KEY: key,
      OPENAI_MODEL: "gpt-4o",
      OPENAI_BASE_URL: "https://api.openai.com/v1",
    }),
    prepare: qwenSettings,
    direct: (url) => ({ OPENAI_BASE_URL: `${url}/v1` }),
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
    prepare: (home) => Deno.writeTextFile(`${home}/config.yaml`, continueConfig()),
    direct: async (url, home) => {
      await Deno.writeTextFile(`${home}/config.yaml`, continueConfig(`${url}/v1`));
      return {};
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
    // Cline's flags take no base URL: `cline auth` stores one with the provider.
    direct: async (url, home) => {
      const auth = ["auth", "-p", "openai", "-k", OPENAI_KEY, "-m", "gpt-4o", "-b", `${url}/v1`];
      const out = await new Deno.Command(await agentBin("cline"), {
        args: auth,
        cwd: home,
        clearEnv: true,
        env: cleanEnv(home),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`cline auth: ${new TextDecoder().decode(out.stderr)}`);
      return {};
    },
  },
  {
    label: "probe capture opencode -- opencode run (forward mode, built-in OpenAI provider)",
    target: "opencode",
    mode: "forward",
    bin: "opencode",
    api: "responses",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "bash",
    env: (_home, key) => ({
      OPENAI_API_KEY: key,
      OPENCODE_DISABLE_MODELS_FETCH: "1",
      OPENCODE_DISABLE_AUTOUPDATE: "1",
    }),
    prepare: opencodePlugin,
    direct: (url) => ({
      OPENCODE_CONFIG_CONTENT: JSON.stringify({
        provider: { openai: { options: { baseURL: `${url}/v1` } } },
      }),
    }),
    args: (prompt) => ["run", "-m", "openai/gpt-4.1", "--title", TITLE, prompt],
  },
  {
    label: "probe capture kilo -- kilo run (forward mode, built-in OpenAI provider)",
    target: "kilo",
    mode: "forward",
    bin: "kilo",
    api: "responses",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    realHosts: ["api.openai.com"],
    tool: "bash",
    env: (_home, key) => ({ OPENAI_API_KEY: key }),
    args: (prompt) => ["run", "-m", "openai/gpt-4.1", "--auto", "--title", TITLE, prompt],
    direct: (url) => ({
      KILO_CONFIG_CONTENT: JSON.stringify({
        provider: { openai: { options: { baseURL: `${url}/v1` } } },
      }),
    }),
  },
  {
    label: "probe capture kilo -- kilo run (reverse mode, the target's provider)",
    target: "kilo",
    mode: "reverse",
    bin: "kilo",
    api: "chat",
    key: OPENAI_KEY,
    keyHeader: OPENAI_HEADER,
    tool: "bash",
    env: (_home, key) => ({ OPENAI_API_KEY: key }),
    args: (prompt) => ["run", "-m", "probe/gpt-4.1", "--auto", "--title", TITLE, prompt],
  },
  {
    label: "probe capture copilot -- copilot -p (forward mode, GitHub sign-in by token)",
    target: "copilot",
    mode: "forward",
    bin: "copilot",
    api: "chat",
    key: GITHUB_TOKEN,
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    extraProxies: ["github"],
    realHosts: ["api.githubcopilot.com", "api.github.com"],
    tool: "bash",
    env: (_home, key) => ({ COPILOT_GITHUB_TOKEN: key }),
    // The fake's account offers one model the CLI knows; "auto" would need GitHub's router.
    args: (prompt) => ["-p", prompt, "--allow-all-tools", "--model", COPILOT_MODEL],
    // Its Copilot API and GitHub API bases (the second a debugging variable of its own).
    direct: (url) => ({ COPILOT_API_URL: url, COPILOT_DEBUG_GITHUB_API_URL: url }),
  },
];

/** Continue's config.yaml: one OpenAI model with the fake key, at `apiBase` if given. */
function continueConfig(apiBase?: string): string {
  return [
    "name: probe-test",
    "version: 0.0.1",
    "schema: v1",
    "models:",
    "  - name: gpt-4o",
    "    provider: openai",
    "    model: gpt-4o",
    `    apiKey: ${OPENAI_KEY}`,
    ...(apiBase ? [`    apiBase: ${apiBase}`] : []),
    "    roles: [chat]",
    "",
  ].join("\n");
}

/**
 * opencode runs `npm install @opencode-ai/plugin` in its config dir unless it finds the package
 * there already: a lock file that lists it keeps it off the network.
 */
async function opencodePlugin(home: string): Promise<void> {
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
}

/** Qwen Code's settings: the OpenAI-compatible sign-in, no usage statistics or telemetry. */
async function qwenSettings(home: string): Promise<void> {
  await Deno.mkdir(`${home}/.qwen`);
  await Deno.writeTextFile(
    `${home}/.qwen/settings.json`,
    JSON.stringify({
      security: { auth: { selectedType: "openai" } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
    }),
  );
}
