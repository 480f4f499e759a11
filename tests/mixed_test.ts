/**
 * One capture holding all four model APIs (testdata/mixed_traffic.jsonl): whatever the target,
 * analyze renders every exchange with its own API's renderer and totals usage per model.
 *
 * The fixture holds captures of the real CLIs, made as in tests/capture_agents_test.ts (Claude
 * Code 2.1.197, Codex 0.169.0, Gemini CLI 0.61.0, opencode 1.18.33, each with a tool round
 * trip against tests/fake_upstream.ts), then four calls shaped like the SDKs' (non-streamed
 * Responses, Chat and Messages; a Code Assist stream), all recorded through `probe capture`
 * (keys redacted by the recorder). Afterwards the upstream URLs were set to the real hosts,
 * device ids zeroed, strings over 400 characters cut to 150 and tool lists cut to the tools
 * used.
 */
import assert from "node:assert/strict";
import { ROOT } from "./tools/paths.ts";

const MIXED = `${ROOT}/testdata/mixed_traffic.jsonl`;

/** Exchange by exchange: method and path as the report heads them, and the renderer id. */
const EXPECTED_EXCHANGES = [
  ["HEAD /", "generic"],
  ["POST /v1/messages", "anthropic_messages"],
  ["POST /v1/messages", "anthropic_messages"],
  ["POST /v1/responses", "openai_responses"],
  ["POST /v1/responses", "openai_responses"],
  ["POST /v1beta/models/gemini-3.5-flash-lite:generateContent", "gemini"],
  ["POST /v1beta/models/gemini-3.8-flash:streamGenerateContent", "gemini"],
  ["POST /v1beta/models/gemini-3.8-flash:streamGenerateContent", "gemini"],
  ["POST /v1/chat/completions", "openai_chat"],
  ["POST /v1/chat/completions", "openai_chat"],
  ["POST /v1/chat/completions", "openai_chat"],
  ["POST /v1/responses", "openai_responses"],
  ["POST /v1/chat/completions", "openai_chat"],
  ["POST /v1/messages", "anthropic_messages"],
  ["POST /v1internal:streamGenerateContent", "gemini"],
];

const RENDERER_NAMES: Record<string, string> = {
  generic: "Generic (not a model turn)",
  anthropic_messages: "Anthropic Messages API",
  openai_responses: "OpenAI Responses API",
  openai_chat: "OpenAI Chat Completions API",
  gemini: "Google Gemini API",
};

/**
 * Token Usage rows (model, requests, with usage, input, cached, cache writes, output,
 * reasoning): the fake upstream's fixed usage per API (COUNTED_USAGE) times the answers.
 */
const EXPECTED_USAGE = [
  ["gpt-4.1", "3", "3", "630", "192", "0", "102", "0"],
  ["claude-opus-4-8", "2", "2", "540", "200", "40", "54", "0"],
  ["gpt-6.1-sol", "2", "2", "642", "0", "0", "90", "0"],
  ["gemini-3.8-flash", "2", "2", "360", "60", "0", "60", "16"],
  ["gemini-3.5-flash-lite", "1", "1", "180", "30", "0", "30", "8"],
  ["gpt-5-mini", "1", "1", "321", "0", "0", "45", "0"],
  ["gpt-4.1-mini", "1", "1", "210", "64", "0", "34", "0"],
  ["claude-haiku-4-5", "1", "1", "270", "100", "20", "27", "0"],
  ["gemini-2.5-pro", "1", "1", "180", "30", "0", "30", "8"],
  ["Total", "14", "14", "3333", "676", "60", "472", "32"],
];

async function analyze(target: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "probe-mixed-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}/main.ts`,
        "analyze",
        "--target",
        target,
        "--input",
        MIXED,
        "-o",
        `${dir}/r.md`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(stderr, "");
    assert.equal(
      new TextDecoder().decode(out.stdout),
      `Wrote ${dir}/r.md (15 requests, 0 problems)\n`,
    );
    return await Deno.readTextFile(`${dir}/r.md`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const target of ["openai", "claude-code", "gemini-cli"]) {
  Deno.test(`analyze renders a mixed capture per API (--target ${target})`, async (t) => {
    const report = await analyze(target);

    await t.step("every exchange names its API's renderer", () => {
      const heads = [...report.matchAll(/^### (\d+)\\\. (\S+) (\S+) → 200$/gm)]
        .map((m) => [m[1], `${m[2]} ${m[3]}`]);
      assert.deepEqual(heads, EXPECTED_EXCHANGES.map(([req], i) => [String(i + 1), req]));
      const renderers = [...report.matchAll(/^- \*\*Renderer:\*\* (.*)$/gm)].map((m) => m[1]);
      assert.deepEqual(
        renderers,
        EXPECTED_EXCHANGES.map(([, id]) => `${RENDERER_NAMES[id]} (${id})`),
      );
    });

    await t.step("Token Usage is right per model and in total", () => {
      const start = report.indexOf("\n## Token Usage\n");
      const section = report.slice(start, report.indexOf("\n## ", start + 1));
      const rows = section.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("|---"))
        .slice(1).map((l) => l.slice(2, -2).split(" | ").slice(0, 8));
      assert.deepEqual(rows, EXPECTED_USAGE);
    });

    await t.step("each API's answers and tool calls are in the report", () => {
      for (
        const text of [
          "FAKE ANSWER after the tool: it printed probe-note-claude42",
          "FAKE ANSWER after the tool: it printed probe-note-codex42",
          "FAKE ANSWER after the tool: it printed probe-note-gemini42",
          "FAKE ANSWER after the tool: it printed probe-note-opencode42",
          "FAKE ANSWER to: What is a reverse proxy?",
          "FAKE ANSWER to: Name one HTTP method.",
          "FAKE ANSWER to: Name one status code.",
          "FAKE ANSWER to: Name one header.", // Code Assist: unwrapped from `response`
          "the note says probe-note-gemini42", // a functionResponse
        ]
      ) {
        assert.ok(report.includes(text), text);
      }
      assert.match(report, /^- \*\*Name:\*\* Bash$/m);
      assert.match(report, /^- \*\*Name:\*\* read_file$/m);
      assert.match(report, /^- \*\*Name:\*\* bash$/m);
      assert.match(report, /^- \*\*Name:\*\* exec$/m);
    });
  });
}

Deno.test("the mixed fixture holds no key", async () => {
  const text = await Deno.readTextFile(MIXED);
  assert.equal(text.split("\n").filter((l) => l).length, 15);
  assert.doesNotMatch(text, /FAKEprobeTEST|FAKEsdk|sk-ant-api03-|sk-proj-|AIza|ya29\./);
  assert.equal([...text.matchAll(/\[REDACTED:[0-9a-f]{8}\]/g)].length, 14);
});
