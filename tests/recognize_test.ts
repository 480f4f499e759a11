/**
 * `--target` is optional for analyze and export: the agent is recognised from the capture's
 * request headers (each target declares how), which gives the report its title; a capture that
 * names no agent, or several, gets a neutral title. Extra redactions are then every target's.
 */
import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import { exportHar } from "../lib/export.ts";
import { AgentTally, extraRedactions, NEUTRAL_TITLE } from "../lib/recognize.ts";
import type { Entry, Target } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";
import { claudeCode } from "../targets/claude_code.ts";
import { ROOT } from "./tools/paths.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const MIXED = `${ROOT}/testdata/mixed_traffic.jsonl`;
const SAMPLE = `${ROOT}/testdata/sample_traffic.jsonl`;
const HOSTILE = `${ROOT}/testdata/hostile_traffic.jsonl`;
const MAIN = `${ROOT}/main.ts`;

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "probe-recognize-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The report of `input` analyzed with the built-in targets and no `--target`. */
async function report(input: string, target?: Target): Promise<string> {
  return await withDir(async (dir) => {
    const output = `${dir}/report.md`;
    await analyzeFile({
      input,
      output,
      ...(target ? { target } : {}),
      targets: builtinTargets,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
    });
    return await Deno.readTextFile(output);
  });
}

const firstLine = (text: string) => text.slice(0, text.indexOf("\n"));

Deno.test("AgentTally recognises each built-in agent by the headers it sends", async (t) => {
  const cases: [Record<string, string>, string][] = [
    [
      { originator: "codex_exec", "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64)" },
      "codex",
    ],
    [{ "User-Agent": "codex_cli_rs/0.1.0 (Linux 6.8.0; x86_64)" }, "codex"],
    [{ "user-agent": "claude-cli/2.1.197 (external, sdk-cli)", "x-app": "cli" }, "claude-code"],
    [{ "user-agent": "GeminiCLI-tui/0.61.0/gemini-3.1-pro-preview (linux; x64)" }, "gemini-cli"],
    [{ "user-agent": "opencode/1.18.33 ai-sdk/provider-utils/4.0.23" }, "opencode"],
  ];
  for (const [headers, name] of cases) {
    await t.step(name, () => {
      assert.equal(new AgentTally(builtinTargets).recognize(headers)?.name, name);
    });
  }
  await t.step("other clients are no agent", () => {
    const tally = new AgentTally(builtinTargets);
    for (const ua of ["Bun/1.4.0", "Deno/2.9.6", "curl/8.5", "", "my-codex_fork/1"]) {
      assert.equal(tally.recognize({ "user-agent": ua }), undefined, ua);
    }
    assert.equal(tally.recognize({}), undefined);
  });
  await t.step("one agent gives its title; none or several a neutral one", () => {
    const tally = new AgentTally(builtinTargets);
    tally.add({ "user-agent": "curl/8" });
    assert.equal(tally.title(), NEUTRAL_TITLE);
    tally.add({ "user-agent": "claude-cli/2.1.197" });
    assert.equal(tally.title(), "Claude Code Traffic Analysis Report");
    tally.add({ originator: "codex_exec" });
    assert.equal(tally.title(), NEUTRAL_TITLE);
    assert.deepEqual(tally.agents(), ["claude-code", "codex"]);
  });
  await t.step("a target file's pattern that does not compile recognises nothing", () => {
    const bad = { ...claudeCode, recognizedBy: [{ header: "user-agent", pattern: "(" }] };
    assert.equal(new AgentTally([bad]).recognize({ "user-agent": "(" }), undefined);
  });
});

Deno.test("analyze without --target titles the report by the agent in the capture", async (t) => {
  await t.step("a Codex capture: the Codex title and the agent named", async () => {
    const md = await report(SAMPLE);
    assert.equal(firstLine(md), "# Codex Traffic Analysis Report");
    assert.match(md, /^- Agents: codex\n/m);
  });
  await t.step("all four agents in one capture: a neutral title, all four named", async () => {
    const md = await report(MIXED);
    assert.equal(firstLine(md), `# ${NEUTRAL_TITLE}`);
    assert.match(md, /^- Agents: claude-code, codex, gemini-cli, opencode\n/m);
  });
  await t.step("no agent header at all: a neutral title", async () => {
    const md = await report(HOSTILE);
    assert.equal(firstLine(md), `# ${NEUTRAL_TITLE}`);
    assert.match(md, /^- Agents: none recognised\n/m);
  });
  await t.step("--target wins and no agent line is added", async () => {
    const md = await report(MIXED, claudeCode);
    assert.equal(firstLine(md), "# Claude Code Traffic Analysis Report");
    assert.doesNotMatch(md, /^- Agents:/m);
  });
});

/** An exchange whose headers only some targets redact. */
const ORG_ENTRY: Entry = {
  timestamp: 1700000000,
  request: {
    method: "HEAD",
    url: "https://api.anthropic.com/",
    headers: { "user-agent": "Bun/1.4.0", "openai-organization": "org-SECRET1" },
    body: null,
  },
  response: {
    status_code: 200,
    headers: { "anthropic-organization-id": "SECRET2-uuid", "x-goog-user-project": "SECRET3" },
    body: null,
  },
};

Deno.test("without --target every target's extra header redactions apply", async (t) => {
  await t.step("extraRedactions: the target's, else the union of all", () => {
    assert.deepEqual(extraRedactions(claudeCode, builtinTargets), claudeCode.redactedHeaders);
    const all = extraRedactions(undefined, builtinTargets);
    for (const h of ["openai-organization", "anthropic-organization-id", "x-goog-user-project"]) {
      assert.ok(all.includes(h), h);
    }
  });
  await withDir(async (dir) => {
    const input = `${dir}/capture.jsonl`;
    await Deno.writeTextFile(input, JSON.stringify(ORG_ENTRY) + "\n");
    await t.step("analyze", async () => {
      const md = await report(input);
      assert.doesNotMatch(md, /SECRET\d/);
      assert.match(md, /anthropic-organization-id \| \[REDACTED\]/);
    });
    await t.step("export --har", async () => {
      const har = `${dir}/out.har`;
      await exportHar({
        input,
        output: har,
        redactHeaders: extraRedactions(undefined, builtinTargets),
        warn: () => {},
      });
      const text = await Deno.readTextFile(har);
      assert.doesNotMatch(text, /SECRET\d/);
    });
    await t.step("the CLI: analyze and export without --target", async () => {
      for (
        const args of [
          ["analyze", "--input", input, "--output", "-"],
          ["export", "--input", input, "--har", "-"],
        ]
      ) {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-all", MAIN, ...args],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const stdout = new TextDecoder().decode(out.stdout);
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        assert.doesNotMatch(stdout, /SECRET\d/, args[0]);
        assert.match(stdout, /REDACTED/, args[0]);
      }
    });
  });
});
