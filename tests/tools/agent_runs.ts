/**
 * The end-to-end test of a real agent CLI (pinned in tests/tools/paths.ts, installed by
 * tests/tools/setup.ts), shared by capture_agents_test.ts (reverse mode) and
 * capture_forward_agents_test.ts (forward mode, subscription logins): `probe capture <target>
 * -- <cli> ...` against the fake upstream, then `probe analyze`. Each CLI runs
 * non-interactively with a throw-away HOME, stdin from /dev/null, a clean environment, a fake
 * key that looks real and a time limit. The prompt asks for a tool call (`TOOL_MARKER`): the
 * fake model calls a tool the CLI offers without approval, the CLI runs it, and the final
 * answer quotes its result.
 *
 * Checked for each CLI: every request the upstream received is in the capture and in the
 * report (count, methods and paths); the report shows the prompt, the tool call, its result
 * and the answer; the Token Usage table has the right totals per model; the key appears
 * nowhere, not even in what probe and the CLI printed.
 */
import { agentHome } from "./agent_home.ts";
import assert from "node:assert/strict";
import type { Entry } from "../../lib/types.ts";
import {
  answerFor,
  type Api,
  COUNTED_USAGE,
  type FakeUpstream,
  startFakeUpstream,
  TOOL_MARKER,
  toolAnswerFor,
} from "../fake_upstream.ts";
import { agentBin, type Mitmdump } from "./paths.ts";
import { AGENT_TIMEOUT_MS, cleanEnv } from "./agent_env.ts";
import { runProbe } from "./capture_helpers.ts";
import { fillEnv } from "../../lib/placeholders.ts";
import { buildCommand } from "../../lib/capture/run.ts";
import { builtinTargets } from "../../targets/mod.ts";

/** One agent CLI and how it is driven. */
export interface Agent {
  /** probe's target. */
  target: string;
  /** The program in .cache/npm/node_modules/.bin. */
  bin: string;
  api: Api;
  /** A fake key in the provider's real format. */
  key: string;
  /** The request header that carries the key, and how (the real value reaches upstream). */
  keyHeader: [string, (key: string) => string];
  /**
   * The tool the fake model should end up calling; null for an agent that offers the model no
   * tools (one plain turn then).
   */
  tool: string | null;
  /** Variables the CLI needs besides the target's (which probe sets). */
  env(home: string, key: string): Record<string, string>;
  /** Files the CLI needs in its HOME before it starts. */
  prepare?(home: string): Promise<void>;
  /** Arguments after the program. */
  args(prompt: string): string[];
  /** `--port`/`--upstream` for proxies besides `api`. */
  extraProxies?: string[];
  /** How probe captures it (default reverse: the target's base URL or provider settings). */
  mode?: "forward" | "reverse";
  /** Forward mode: the target's own hosts (no proxy names them) sent to the fake upstream too. */
  hosts?: string[];
  /** Test name: what this run proves (default: the target and program). */
  label?: string;
  /** Forward mode: the hosts every recorded URL must name. */
  realHosts?: string[];
  /** More strings (tokens of a login) that must appear nowhere. */
  secrets?: string[];
  /**
   * How the CLI reaches a server at `url` (no trailing slash) without probe, for the
   * truthfulness test's direct run: more variables (it may write files into `home`). Default:
   * the target's own reverse-mode settings (env, commandArgs) with every proxy's URL `url`.
   */
  direct?(url: string, home: string): Record<string, string> | Promise<Record<string, string>>;
}

/** What one agent run left behind, for the checks and the mixed analysis. */
export interface AgentRun {
  agent: Agent;
  capture: string;
  entries: Entry[];
  report: string;
  /** `METHOD /path?query` of every request the fake upstream received. */
  received: string[];
  /** What probe and the CLI printed (stdout and stderr). */
  output: string;
}

/** A report's lines that are rows of the table under `## title`, split into cells. */
export function tableRows(report: string, title: string): string[][] {
  const start = report.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `report has a ${title} section`);
  const end = report.indexOf("\n## ", start + 1);
  return report.slice(start, end < 0 ? undefined : end).split("\n")
    .filter((l) => l.startsWith("| ") && !l.startsWith("|---"))
    .slice(1)
    .map((l) => l.slice(2, -2).split(" | "));
}

/** Markdown escapes undone, so a URL or path from the report compares as text. */
export function unescape(text: string): string {
  return text.replace(/\\([\\`*_{}\[\]()#+\-.!|<>~])/g, "$1");
}

/** `METHOD /path?query` of each exchange in the report's conversation log, in order. */
export function reportExchanges(report: string): { request: string; renderer: string }[] {
  const log = report.slice(report.indexOf("\n## Full Conversation Log\n"));
  return log.split(/\n### \d+\\\. /).slice(1).map((section) => {
    const method = section.split(" ")[0];
    const url = unescape(/^- \*\*URL:\*\* (\S+)$/m.exec(section)?.[1] ?? "");
    const renderer = /^- \*\*Renderer:\*\* .* \((\w+)\)$/m.exec(section)?.[1] ?? "";
    const u = new URL(url);
    return { request: `${method} ${u.pathname}${u.search}`, renderer };
  });
}

/** The prompt: a tool round trip on the note file, or a plain question without tools. */
function promptFor(agent: Agent, work: string): string {
  return agent.tool === null
    ? `Say hello to the probe test of ${agent.bin}.`
    : `Show me the note file. ${TOOL_MARKER}${work}/note.txt`;
}

/** What the fake model's last answer says. */
function finalAnswer(agent: Agent, prompt: string): string {
  return agent.tool === null ? answerFor(prompt) : toolAnswerFor(`probe-note-${agent.bin}42`);
}

/** The agent's HOME made ready (its files, the work folder with the note); the work folder. */
async function prepareHome(agent: Agent, home: string): Promise<string> {
  const work = `${home}/work`;
  await Deno.mkdir(work);
  await agent.prepare?.(home);
  await Deno.writeTextFile(`${work}/note.txt`, `the note says probe-note-${agent.bin}42\n`);
  return work;
}

/**
 * The CLI run on the same prompt straight against `upstream`, without probe (see
 * `Agent.direct`); fails unless it exits 0 with the final answer.
 */
export async function runDirect(agent: Agent, upstream: FakeUpstream, home: string): Promise<void> {
  const program = await agentBin(agent.bin);
  const work = await prepareHome(agent, home);
  const prompt = promptFor(agent, work);
  const target = builtinTargets.find((t) => t.name === agent.target);
  assert.ok(target, `a built-in target ${agent.target}`);
  const ports = new Map(target.proxies.map((p) => [p.name, upstream.port]));
  let argv = [program, ...agent.args(prompt)];
  let env: Record<string, string>;
  if (agent.direct) env = await agent.direct(upstream.url.replace(/\/$/, ""), home);
  else {
    env = fillEnv(target.env, ports);
    argv = buildCommand(argv, target, ports);
  }
  const started = Date.now();
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: work,
    clearEnv: true,
    env: cleanEnv(home, { NO_COLOR: "1", TERM: "dumb", ...agent.env(home, agent.key), ...env }),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(AGENT_TIMEOUT_MS),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const context = `${agent.bin} direct (${(Date.now() - started) / 1000} s) stdout:\n${stdout}\n` +
    `stderr:\n${new TextDecoder().decode(out.stderr).slice(-4000)}`;
  assert.equal(out.code, 0, context);
  assert.ok(
    stdout.includes(finalAnswer(agent, prompt)),
    `the CLI printed the final answer\n${context}`,
  );
}

export async function captureAgent(
  agent: Agent,
  upstream: FakeUpstream,
  home: string,
  mitmdump: Mitmdump,
): Promise<AgentRun> {
  const program = await agentBin(agent.bin);
  const work = await prepareHome(agent, home);
  const prompt = promptFor(agent, work);
  const out = `${home}/capture`;
  const names = ["api", ...(agent.extraProxies ?? [])];
  const forward = agent.mode === "forward";
  // Forward mode: one proxy on a free port; every name (proxy or host) routed to the fake.
  const proxies = [
    ...(forward ? ["--port", "0"] : names.flatMap((p) => ["--port", `${p}=0`])),
    ...[...names, ...(forward ? agent.hosts ?? [] : [])].flatMap((p) => [
      "--upstream",
      `${p}=${upstream.url}`,
    ]),
  ];
  const started = Date.now();
  // Probe is stopped (and so the CLI) if it outlives the time limit.
  const result = await runProbe([
    "capture",
    agent.target,
    "--mode",
    agent.mode ?? "reverse",
    "--mitmdump",
    mitmdump.path,
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
  assert.ok(
    stdout.includes(finalAnswer(agent, prompt)),
    `the CLI printed the final answer\n${context}`,
  );

  // The round trip really happened: a tool call, then a request carrying its result.
  const turns = upstream.requests.filter((r) => r.api !== undefined);
  assert.ok(turns.every((r) => r.api === agent.api), context);
  if (agent.tool !== null) {
    assert.ok(turns.some((r) => r.reply === "tool"), `a tool call was answered\n${context}`);
  }
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
    output: stdout + "\n" + stderr,
    capture,
    entries: capture.split("\n").filter((l) => l).map((l) => JSON.parse(l)),
    report: await Deno.readTextFile(`${out}/analysis_report.md`),
    received: upstream.requests.map((r) => `${r.method} ${r.path}`),
  };
}

/**
 * Registers the end-to-end test of one agent: probe captures the real CLI's tool round trip
 * against a fake upstream, then every check below runs on the capture and the report. Each
 * finished run is pushed to `runs` (for a combined analysis).
 */
export function agentTest(agent: Agent, mitmdump: Mitmdump, runs: AgentRun[]): void {
  Deno.test(
    `${agent.label ?? `probe capture ${agent.target} -- ${agent.bin}`} (real CLI, ${
      agent.tool === null ? "one turn, no tools offered" : "tool round trip"
    }) [mitmproxy ${mitmdump.version}]`,
    async (t) => {
      await using upstream = await startFakeUpstream();
      await using homeDir = await agentHome(`probe-${agent.bin}-home-`);
      const home = homeDir.path;
      {
        const run = await captureAgent(agent, upstream, home, mitmdump);
        runs.push(run);
        const { entries, report, received } = run;
        const work = `${home}/work`;
        const token = `probe-note-${agent.bin}42`;

        if (agent.mode === "forward") {
          await t.step("forward mode records the real URLs, through one proxy", () => {
            for (const e of entries) {
              const u = new URL(e.request.url);
              assert.equal(u.protocol, "https:", e.request.url);
              assert.ok(agent.realHosts!.includes(u.hostname), `${u.hostname} is a real host`);
              assert.equal(e.proxy, "forward");
            }
          });
        }

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
            // A refused WebSocket upgrade of the Responses API (Codex tries one first) is its too.
            upstream.requests.filter((r) => r.api || r.headers.upgrade === "websocket")
              .map(() => expected),
          );
        });

        await t.step("the prompt, the tool call, its result and the answer are rendered", () => {
          const prompt = promptFor(agent, work);
          assert.ok(report.includes(prompt), "the prompt");
          if (agent.tool === null) {
            assert.ok(report.includes(answerFor(prompt)), "the answer");
            return;
          }
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
            // A refused WebSocket upgrade (GET, no body) is counted as a request of no model.
            const upgrade = r.headers.upgrade === "websocket";
            if (!r.api && !upgrade) continue;
            const model = upgrade ? "(unknown model)" : r.model!;
            const m = perModel.get(model) ?? { requests: 0, withUsage: 0 };
            m.requests++;
            if (r.usage) m.withUsage++;
            perModel.set(model, m);
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

        await t.step("no key or token appears in the capture, the report or the output", () => {
          const texts = [["capture", run.capture], ["report", report], ["output", run.output]];
          for (const [name, text] of texts) {
            for (const secret of [agent.key, ...(agent.secrets ?? [])]) {
              assert.ok(!text.includes(secret), `no ${secret.slice(0, 12)}... in the ${name}`);
            }
            // The report and capture hold no part of it either (the output may echo a prompt).
            if (name !== "output") {
              assert.ok(!text.includes("FAKEprobeTEST"), `no part of the key in the ${name}`);
            }
          }
          const [header] = agent.keyHeader;
          for (const e of entries) {
            const v = Object.entries(e.request.headers)
              .find(([k]) => k.toLowerCase() === header)?.[1];
            if (v !== undefined) assert.match(v, /\[REDACTED:[0-9a-f]{8}\]$/);
          }
        });
      }
    },
  );
}
