/**
 * The real agent CLIs (pinned in tests/tools/paths.ts, installed by tests/tools/setup.ts)
 * captured end to end with a tool round trip: `probe capture <target> -- <cli> ...` against
 * the fake upstream, then `probe analyze`. Each CLI runs non-interactively with a throw-away
 * HOME, stdin from /dev/null, a clean environment, a fake key that looks real and a time
 * limit. The prompt asks for a tool call (`TOOL_MARKER`): the fake model calls a tool the CLI
 * offers without approval, the CLI runs it, and the final answer quotes its result.
 *
 * Checked for each CLI: every request the upstream received is in the capture and in the
 * report (count, methods and paths); the report shows the prompt, the tool call, its result
 * and the answer; the Token Usage table has the right totals per model; the key appears
 * nowhere. Then the four captures, concatenated, are analyzed as one: each exchange is
 * rendered by its own API's renderer.
 *
 * Only the first mitmdump found is used: the real CLIs take seconds each, and the proxy
 * itself is tested on every mitmdump by capture_proxy_test.ts and capture_cli_test.ts.
 */
import assert from "node:assert/strict";
import type { Entry } from "../lib/types.ts";
import {
  type Api,
  COUNTED_USAGE,
  type FakeUpstream,
  startFakeUpstream,
  TOOL_MARKER,
  toolAnswerFor,
} from "./fake_upstream.ts";
import { agentBin, findMitmdumps } from "./tools/paths.ts";
import {
  AGENT_TIMEOUT_MS,
  cleanEnv,
  codexApiKeyLogin,
  codexEnv,
  codexExecArgs,
} from "./tools/agent_env.ts";
import { runProbe } from "./tools/capture_helpers.ts";

const MITMDUMP = (await findMitmdumps())[0];
const AGENTS_CODEX_KEY = "sk-proj-FAKEprobeTEST9876543210zyxwvutsrqponmlkjihgfedcbaZYXW";

/** One agent CLI and how it is driven. */
interface Agent {
  /** probe's target. */
  target: string;
  /** The program in .cache/npm/node_modules/.bin. */
  bin: string;
  api: Api;
  /** A fake key in the provider's real format. */
  key: string;
  /** The request header that carries the key, and how (the real value reaches upstream). */
  keyHeader: [string, (key: string) => string];
  /** The tool the fake model should end up calling. */
  tool: string;
  /** Variables the CLI needs besides the target's (which probe sets). */
  env(home: string, key: string): Record<string, string>;
  /** Files the CLI needs in its HOME before it starts. */
  prepare?(home: string): Promise<void>;
  /** Arguments after the program. */
  args(prompt: string): string[];
  /** `--port`/`--upstream` for proxies besides `api`. */
  extraProxies?: string[];
}

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

/** What one agent run left behind, for the checks and the mixed analysis. */
interface AgentRun {
  agent: Agent;
  capture: string;
  entries: Entry[];
  report: string;
  /** `METHOD /path?query` of every request the fake upstream received. */
  received: string[];
}

const runs: AgentRun[] = [];

/** A report's lines that are rows of the table under `## title`, split into cells. */
function tableRows(report: string, title: string): string[][] {
  const start = report.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `report has a ${title} section`);
  const end = report.indexOf("\n## ", start + 1);
  return report.slice(start, end < 0 ? undefined : end).split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("|---"))
    .slice(1)
    .map((l) => l.slice(2, -2).split(" | "));
}

/** Markdown escapes undone, so a URL or path from the report compares as text. */
function unescape(text: string): string {
  return text.replace(/\\([\\`*_{}\[\]()#+\-.!|<>~])/g, "$1");
}

/** `METHOD /path?query` of each exchange in the report's conversation log, in order. */
function reportExchanges(report: string): { request: string; renderer: string }[] {
  const log = report.slice(report.indexOf("\n## Full Conversation Log\n"));
  return log.split(/\n### \d+\\\. /).slice(1).map((section) => {
    const method = section.split(" ")[0];
    const url = unescape(/^- \*\*URL:\*\* (\S+)$/m.exec(section)?.[1] ?? "");
    const renderer = /^- \*\*Renderer:\*\* .* \((\w+)\)$/m.exec(section)?.[1] ?? "";
    const u = new URL(url);
    return { request: `${method} ${u.pathname}${u.search}`, renderer };
  });
}

async function captureAgent(agent: Agent, upstream: FakeUpstream, home: string): Promise<AgentRun> {
  const program = await agentBin(agent.bin);
  const work = `${home}/work`;
  await Deno.mkdir(work);
  await agent.prepare?.(home);
  const token = `probe-note-${agent.bin}42`;
  await Deno.writeTextFile(`${work}/note.txt`, `the note says ${token}\n`);
  const prompt = `Show me the note file. ${TOOL_MARKER}${work}/note.txt`;
  const out = `${home}/capture`;
  const proxies = ["api", ...(agent.extraProxies ?? [])].flatMap((p) => [
    "--port",
    `${p}=0`,
    "--upstream",
    `${p}=${upstream.url}`,
  ]);
  const started = Date.now();
  // Probe is stopped (and so the CLI) if it outlives the time limit.
  const result = await runProbe([
    "capture",
    agent.target,
    "--mode",
    "reverse",
    "--mitmdump",
    MITMDUMP.path,
    ...proxies,
    "--output-dir",
    out,
    "--",
    program,
    ...agent.args(prompt),
  ], {
    cwd: work,
    clearEnv: true,
    env: cleanEnv(home, { NO_COLOR: "1", TERM: "dumb", ...agent.env(home, agent.key) }),
    timeoutMs: AGENT_TIMEOUT_MS,
  });
  const stdout = result.stdout.join("\n");
  const stderr = result.stderr.join("\n");
  const context = `${agent.bin} (${(Date.now() - started) / 1000} s) stdout:\n${stdout}\n` +
    `stderr:\n${stderr.slice(-4000)}`;
  assert.equal(result.code, 0, context);
  assert.ok(stdout.includes(toolAnswerFor(token)), `the CLI printed the final answer\n${context}`);

  // The round trip really happened: a tool call, then a request carrying its result.
  const turns = upstream.requests.filter((r) => r.api !== undefined);
  assert.ok(turns.every((r) => r.api === agent.api), context);
  assert.ok(turns.some((r) => r.reply === "tool"), `a tool call was answered\n${context}`);
  const [header, value] = agent.keyHeader;
  for (const r of turns) assert.equal(r.headers[header], value(agent.key), "the real key upstream");

  const analyzed = await runProbe(
    ["analyze", "--target", agent.target, "--input", `${out}/traffic.jsonl`],
    { clearEnv: true, env: cleanEnv(home, { NO_COLOR: "1" }) },
  );
  assert.equal(analyzed.code, 0, analyzed.stderr.join("\n"));

  const capture = await Deno.readTextFile(`${out}/traffic.jsonl`);
  return {
    agent,
    capture,
    entries: capture.split("\n").filter((l) => l).map((l) => JSON.parse(l)),
    report: await Deno.readTextFile(`${out}/analysis_report.md`),
    received: upstream.requests.map((r) => `${r.method} ${r.path}`),
  };
}

for (const agent of AGENTS) {
  Deno.test(`probe capture ${agent.target} -- ${agent.bin} (real CLI, tool round trip) [mitmproxy ${MITMDUMP.version}]`, async (t) => {
    await using upstream = await startFakeUpstream();
    const home = await Deno.makeTempDir({ prefix: `probe-${agent.bin}-home-` });
    try {
      const run = await captureAgent(agent, upstream, home);
      runs.push(run);
      const { entries, report, received } = run;
      const work = `${home}/work`;
      const token = `probe-note-${agent.bin}42`;

      await t.step("every request the upstream received is in the capture and the report", () => {
        const captured = entries.map((e) => {
          const u = new URL(e.request.url);
          return `${e.request.method} ${u.pathname}${u.search}`;
        });
        assert.deepEqual(captured.toSorted(), received.toSorted());
        assert.match(report, new RegExp(`^- Total requests: ${received.length}$`, "m"));
        const logged = reportExchanges(report).map((x) => x.request);
        assert.deepEqual(logged.toSorted(), received.toSorted());
        // The Endpoints table counts each path (query left out).
        const counts = new Map<string, number>();
        for (const r of received) {
          const path = r.split(" ")[1].split("?")[0];
          counts.set(path, (counts.get(path) ?? 0) + 1);
        }
        const endpoints = tableRows(report, "Endpoints").map((c) => [unescape(c[0]), c[2]]);
        assert.deepEqual(
          endpoints.toSorted(),
          [...counts].map(([p, n]) => [p, String(n)]).toSorted(),
        );
      });

      await t.step("model turns are rendered by the API's renderer", () => {
        const renderers = reportExchanges(report).filter((x) => x.renderer !== "generic")
          .map((x) => x.renderer);
        const expected = {
          responses: "openai_responses",
          chat: "openai_chat",
          anthropic: "anthropic_messages",
          gemini: "gemini",
        }[agent.api];
        assert.deepEqual(
          renderers,
          upstream.requests.filter((r) => r.api).map(() => expected),
        );
      });

      await t.step("the prompt, the tool call, its result and the answer are rendered", () => {
        assert.ok(report.includes(`Show me the note file. ${TOOL_MARKER}${work}/note.txt`));
        // The call: the tool's name and the note's path in its arguments.
        const call = new RegExp(
          `\\b${agent.tool}\\b[\\s\\S]{0,400}${
            work.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
          }/note\\.txt`,
        );
        assert.match(report, call, "the tool call with its arguments");
        assert.ok(report.includes(`the note says ${token}`), "the tool's result");
        assert.ok(report.includes(toolAnswerFor(token)), "the final answer");
      });

      await t.step("Token Usage has the right totals per model", () => {
        const u = COUNTED_USAGE[agent.api];
        const perModel = new Map<string, { requests: number; withUsage: number }>();
        for (const r of upstream.requests) {
          if (!r.api) continue;
          const m = perModel.get(r.model!) ?? { requests: 0, withUsage: 0 };
          m.requests++;
          if (r.usage) m.withUsage++;
          perModel.set(r.model!, m);
        }
        const row = (name: string, n: { requests: number; withUsage: number }) => [
          name,
          String(n.requests),
          String(n.withUsage),
          String(n.withUsage * u.input),
          String(n.withUsage * u.cached),
          String(n.withUsage * u.cacheWrite),
          String(n.withUsage * u.output),
          String(n.withUsage * u.reasoning),
        ];
        const total = { requests: 0, withUsage: 0 };
        for (const n of perModel.values()) {
          total.requests += n.requests;
          total.withUsage += n.withUsage;
        }
        assert.ok(total.withUsage > 0);
        const rows = tableRows(report, "Token Usage").map((c) => c.slice(0, 8));
        assert.deepEqual(
          rows.slice(0, -1).toSorted(),
          [...perModel].map(([m, n]) => row(m, n)).toSorted(),
        );
        assert.deepEqual(rows.at(-1), row("Total", total));
      });

      await t.step("no key given to the CLI appears in the capture or the report", () => {
        for (const [name, text] of [["capture", run.capture], ["report", report]]) {
          assert.ok(!text.includes(agent.key), `no key in the ${name}`);
          assert.ok(!text.includes("FAKEprobeTEST"), `no part of the key in the ${name}`);
        }
        const [header] = agent.keyHeader;
        for (const e of entries) {
          const v = Object.entries(e.request.headers)
            .find(([k]) => k.toLowerCase() === header)?.[1];
          if (v !== undefined) assert.match(v, /\[REDACTED:[0-9a-f]{8}\]$/);
        }
      });
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}

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
    assert.deepEqual(
      [...new Set(mixed)].toSorted(),
      ["anthropic_messages", "gemini", "generic", "openai_chat", "openai_responses"],
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
