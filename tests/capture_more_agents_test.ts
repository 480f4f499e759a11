/**
 * The agents added to the first four, each captured end to end with its real CLI
 * (tests/tools/agent_runs.ts says what is checked), in the mode its target defaults to:
 * - pi (forward): undici's EnvHttpProxyAgent makes it follow HTTPS_PROXY; Responses API.
 * - aider (forward): Python (litellm, httpx) follows HTTPS_PROXY and SSL_CERT_FILE; it offers
 *   the model no tools, so one plain turn.
 * - Qwen Code: reverse (OPENAI_BASE_URL to the proxy) and forward (OPENAI_BASE_URL OpenAI's).
 * - Continue, Cline (forward): a model of their own configuration, OpenAI provider.
 * - Kilo Code: forward with its built-in OpenAI provider (Responses API), reverse with the
 *   target's OpenAI-compatible provider (Chat Completions); opencode (reverse in
 *   capture_agents_test.ts) forward with its built-in OpenAI provider too.
 * - GitHub Copilot CLI (forward): signed in with a GitHub token; the fake upstream answers its
 *   account calls on api.github.com and the Copilot API's model list.
 * Crush cannot be installed here: its test shows the target's part without the CLI.
 */
import assert from "node:assert/strict";
import { startFakeUpstream } from "./fake_upstream.ts";
import { cleanEnv } from "./tools/agent_env.ts";
import { type AgentRun, agentTest } from "./tools/agent_runs.ts";
import { MORE_AGENTS, OPENAI_KEY } from "./tools/agents.ts";
import { readJsonl, runProbe } from "./tools/capture_helpers.ts";
import { CRUSH_NOT_INSTALLABLE, findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const runs: AgentRun[] = [];
for (const agent of MORE_AGENTS) agentTest(agent, MITMDUMP, runs);

/**
 * Crush cannot be installed here (tests/tools/paths.ts, CRUSH_NOT_INSTALLABLE), so its target is
 * shown to do its part without it: in its default (forward) mode probe intercepts both provider
 * hosts of the target for a Go-like client that only follows HTTPS_PROXY and a CA bundle
 * variable (curl here), records the real URLs and passes the key upstream, redacted in the
 * capture; no base URL is set.
 */
Deno.test(`probe capture crush (${CRUSH_NOT_INSTALLABLE} not installable): its hosts are intercepted in forward mode [mitmproxy ${MITMDUMP.version}]`, async () => {
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
