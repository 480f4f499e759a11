/**
 * The agents added to the first four, each captured end to end with its real CLI
 * (tests/tools/agent_runs.ts says what is checked), in the mode its target defaults to:
 * - pi (forward): undici's EnvHttpProxyAgent makes it follow HTTPS_PROXY; Responses API.
 * - aider (forward): Python (litellm, httpx) follows HTTPS_PROXY and SSL_CERT_FILE; it offers
 *   the model no tools, so one plain turn.
 * - Qwen Code (reverse): on Node.js before 24 its fetch ignores HTTPS_PROXY; OPENAI_BASE_URL.
 * - Continue, Cline (forward): a model of their own configuration, OpenAI provider.
 * - Kilo Code: forward with its built-in OpenAI provider (Responses API), reverse with the
 *   target's OpenAI-compatible provider (Chat Completions).
 * - GitHub Copilot CLI (forward): signed in with a GitHub token; the fake upstream answers its
 *   account calls on api.github.com and the Copilot API's model list.
 * Crush cannot be installed here: its test shows the target's part without the CLI.
 */
import assert from "node:assert/strict";
import { COPILOT_MODEL, startFakeUpstream } from "./fake_upstream.ts";
import { cleanEnv } from "./tools/agent_env.ts";
import { type Agent, type AgentRun, agentTest } from "./tools/agent_runs.ts";
import { readJsonl, runProbe } from "./tools/capture_helpers.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const OPENAI_KEY = "sk-proj-FAKEprobeTESTmore0123456789abcdefghijklmnopqrstuvwxyzAB";
const OPENAI_HEADER: Agent["keyHeader"] = ["authorization", (k) => `Bearer ${k}`];
/** A fine-grained GitHub token's shape (the CLI refuses a classic `ghp_` one before any call). */
const GITHUB_TOKEN =
  "github_pat_11FAKEprobeTEST0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ";

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
    args: (prompt) => ["run", "-m", "openai/gpt-4.1", "--auto", prompt],
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
    args: (prompt) => ["run", "-m", "probe/gpt-4.1", "--auto", prompt],
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
  },
];

const runs: AgentRun[] = [];
for (const agent of AGENTS) agentTest(agent, MITMDUMP, runs);

/**
 * Crush cannot be installed here (tests/tools/paths.ts, CRUSH_NOT_INSTALLABLE), so its target is
 * shown to do its part without it: in its default (forward) mode probe intercepts both provider
 * hosts of the target for a Go-like client that only follows HTTPS_PROXY and a CA bundle
 * variable (curl here), records the real URLs and passes the key upstream, redacted in the
 * capture; no base URL is set.
 */
Deno.test(`probe capture crush (not installable): its hosts are intercepted in forward mode [mitmproxy ${MITMDUMP.version}]`, async () => {
  await using upstream = await startFakeUpstream();
  const home = await Deno.makeTempDir({ prefix: "probe-crush-" });
  const script = [
    "for url in https://api.openai.com/v1/chat/completions https://api.anthropic.com/v1/messages; do",
    '  curl -sS --fail-with-body -H "authorization: Bearer $OPENAI_API_KEY" \\',
    '    -H "content-type: application/json" \\',
    `    -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi crush"}],"max_tokens":9}' \\`,
    '    "$url" || exit 1',
    "  echo",
    "done",
    'env | grep -E "^(OPENAI_BASE_URL|ANTHROPIC_BASE_URL)=" && exit 3',
    "exit 0",
  ].join("\n");
  try {
    const r = await runProbe([
      "capture",
      "crush",
      "--mitmdump",
      MITMDUMP.path,
      "--port",
      "0",
      "--upstream",
      `api=${upstream.url}`,
      "--upstream",
      `anthropic=${upstream.url}`,
      "-o",
      `${home}/capture`,
      "--",
      "sh",
      "-c",
      script,
    ], {
      cwd: home,
      clearEnv: true,
      env: cleanEnv(home, { OPENAI_API_KEY: OPENAI_KEY }),
      timeoutMs: 120_000,
    });
    const output = [...r.stdout, ...r.stderr].join("\n");
    assert.equal(r.code, 0, output);
    assert.match(output, /^probe capture: crush \(.*\), forward mode$/m, "forward by default");
    for (const host of ["api.openai.com", "api.anthropic.com"]) {
      assert.ok(output.includes(`  intercepts ${host} -> `), `${host} routed\n${output}`);
    }
    const entries = await readJsonl(`${home}/capture/traffic.jsonl`);
    assert.deepEqual(entries.map((e) => e.request.url), [
      "https://api.openai.com/v1/chat/completions",
      "https://api.anthropic.com/v1/messages",
    ]);
    assert.deepEqual(upstream.requests.map((q) => q.headers.authorization), [
      `Bearer ${OPENAI_KEY}`,
      `Bearer ${OPENAI_KEY}`,
    ]);
    for (const e of entries) {
      assert.match(e.request.headers["authorization"] ?? "", /\[REDACTED:[0-9a-f]{8}\]$/);
    }
    assert.ok(!JSON.stringify(entries).includes(OPENAI_KEY), "the key is not in the capture");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
