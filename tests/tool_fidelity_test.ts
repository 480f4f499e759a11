/**
 * What agents really send about tools, shown whole: Codex 0.169 declares its tools in an
 * `additional_tools` input item and returns `custom_tool_call_output` as text parts; Claude
 * Code's tool descriptions run to pages; a 429 says when to retry. Each step failed before
 * its fix (issue 12, item 11).
 */
import assert from "node:assert/strict";
import { ConversationTracker } from "../lib/conversation.ts";
import { exchangeDoc } from "../lib/report.ts";
import { responseView } from "../lib/response_view.ts";
import type { Block, Entry } from "../lib/types.ts";
import { anthropicMessages } from "../renderers/anthropic_messages.ts";
import { openaiResponses } from "../renderers/openai_responses.ts";
import {
  codeTexts,
  deltaStep,
  entryFor,
  must,
  paragraphs,
  section,
  tableRows,
} from "./tools/render_helpers.ts";

/** A long tool output in two text parts, as Codex 0.169 sends it. */
const OUTPUT_PARTS = [
  { type: "input_text", text: "Script completed\nWall time 0.1 seconds\nOutput:\n" },
  { type: "input_text", text: `${"line of output\n".repeat(40)}END-OF-OUTPUT` },
];

/** A Codex 0.169 request: tools in an additional_tools item, a custom tool round trip. */
const CODEX_BODY = {
  model: "gpt-6.1-sol",
  stream: true,
  input: [
    {
      type: "additional_tools",
      id: "at_1",
      role: "developer",
      tools: [
        {
          type: "namespace",
          name: "functions",
          description: "",
          tools: [
            {
              type: "custom",
              name: "exec",
              description: "Run JavaScript code",
              format: { type: "grammar", syntax: "lark", definition: "start: SOURCE" },
            },
            {
              type: "function",
              name: "wait",
              description: "Wait for a running cell",
              parameters: { type: "object", properties: { cell_id: { type: "string" } } },
            },
          ],
        },
        { type: "web_search" },
      ],
    },
    { type: "message", role: "user", content: [{ type: "input_text", text: "show the note" }] },
    { type: "custom_tool_call", call_id: "call_1", name: "exec", input: "cat note.txt" },
    { type: "custom_tool_call_output", call_id: "call_1", output: OUTPUT_PARTS },
  ],
};

const WHOLE_OUTPUT = `Script completed\nWall time 0.1 seconds\nOutput:\n${
  "line of output\n".repeat(40)
}END-OF-OUTPUT`;

const entry = entryFor("https://api.openai.com/v1/responses", "POST", CODEX_BODY);

/** The blocks of the first request of a conversation in the delta view. */
function deltaView(body: unknown, e: Entry): Block[] {
  const parts = must(openaiResponses.requestParts?.(body, e));
  const tracker = new ConversationTracker();
  return deltaStep(parts, tracker.assign(parts, {}, "openai_responses"), 1);
}

Deno.test("Codex 0.169 additional_tools are shown as the request's tools", async (t) => {
  for (
    const [view, blocks] of [
      ["delta view", deltaView(CODEX_BODY, entry)],
      ["full view", openaiResponses.renderRequest(CODEX_BODY, entry).blocks],
    ] as const
  ) {
    await t.step(view, () => {
      const tools = section(blocks, "Tools (3)");
      assert.deepEqual(tableRows(tools).map((r) => [r[0], r[1]]), [
        ["exec", "custom"],
        ["wait", "function"],
        ["web_search", "web_search"],
      ]);
      assert.deepEqual(paragraphs(tools), [
        "3 of them declared in an additional_tools input item.",
      ]);
      const schemas = JSON.parse(codeTexts(section(blocks, "Tool schemas"))[0]);
      assert.deepEqual(Object.keys(schemas), ["exec", "wait"]);
    });
  }
  await t.step("the item's row names the tools instead of their JSON", () => {
    const rows = tableRows(deltaView(CODEX_BODY, entry));
    assert.equal(rows[0][2], "additional_tools");
    assert.equal(rows[0][3], "3 tool(s), shown under Tools: exec, wait, web_search");
  });
  await t.step("tools next to additional_tools are listed first", () => {
    const body = { ...CODEX_BODY, tools: [{ type: "function", name: "own", parameters: {} }] };
    const e = entryFor("https://api.openai.com/v1/responses", "POST", body);
    const rows = tableRows(section(deltaView(body, e), "Tools (4)"));
    assert.deepEqual(rows.map((r) => r[0]), ["own", "exec", "wait", "web_search"]);
  });
});

Deno.test("custom_tool_call_output in text parts is shown whole", async (t) => {
  for (
    const [view, blocks] of [
      ["delta view", deltaView(CODEX_BODY, entry)],
      ["full view", openaiResponses.renderRequest(CODEX_BODY, entry).blocks],
    ] as const
  ) {
    await t.step(view, () => {
      const n = paragraphs(blocks).indexOf("Item 4 in full:");
      assert.ok(n >= 0, `no full text of item 4 in ${JSON.stringify(paragraphs(blocks))}`);
      assert.ok(codeTexts(blocks).includes(WHOLE_OUTPUT));
    });
  }
});

/** A Claude Code-like tool whose description runs to many lines. */
const LONG_DESCRIPTION = [
  "Executes a given bash command in a persistent shell session.",
  ...Array.from({ length: 60 }, (_, i) => `- rule ${i + 1}: follow it`),
  "LAST-LINE-OF-DESCRIPTION",
].join("\n");

Deno.test("Claude tool descriptions are shown in full with the schemas", () => {
  const body = {
    model: "claude-opus-4-8",
    max_tokens: 100,
    messages: [{ role: "user", content: "hi" }],
    tools: [
      {
        name: "Bash",
        description: LONG_DESCRIPTION,
        input_schema: { type: "object", properties: { command: { type: "string" } } },
      },
      { name: "Short", description: "One line.", input_schema: { type: "object" } },
    ],
  };
  const e = entryFor("https://api.anthropic.com/v1/messages", "POST", body);
  const blocks = anthropicMessages.renderRequest(body, e).blocks;
  const rows = tableRows(section(blocks, "Tools (2)"));
  assert.equal(rows[0][2], "Executes a given bash command in a persistent shell session. …");
  const descriptions = section(blocks, "Tool descriptions");
  assert.deepEqual(codeTexts(descriptions), [LONG_DESCRIPTION], "only the cut one, whole");
  assert.ok(JSON.stringify(descriptions).includes('["Tool","Bash"]'));
});

/** The report's problems of one exchange. */
function problemsOf(e: Entry): string[] {
  return exchangeDoc({
    index: 1,
    entry: e,
    response: responseView(e),
    renderer: anthropicMessages,
    redactHeaders: (h) => h,
    redactUrl: (u) => u,
    start: 0,
    conversations: new ConversationTracker(),
    full: false,
  }).problems;
}

Deno.test("a 429's retry-after is in its problem line", async (t) => {
  const limited = (body: unknown, headers: Record<string, string>): Entry => ({
    ...entryFor("https://api.anthropic.com/v1/messages", "POST", {
      model: "m",
      max_tokens: 1,
      messages: [],
    }),
    response: { status_code: 429, headers, body },
  });
  await t.step("with an API error body: on the API error line", () => {
    const error = { type: "error", error: { type: "rate_limit_error", message: "slow down" } };
    const problems = problemsOf(
      limited(error, { "content-type": "application/json", "Retry-After": "30" }),
    );
    assert.deepEqual(problems, ["API error 429: slow down (retry-after: 30)"]);
  });
  await t.step("without a body: on the HTTP status line, both headers", () => {
    const problems = problemsOf(limited(null, { "retry-after": "7", "retry-after-ms": "6500" }));
    assert.equal(problems[0], "HTTP 429 (retry-after: 7, retry-after-ms: 6500)");
  });
  await t.step("no retry header: the status alone", () => {
    assert.equal(problemsOf(limited(null, {}))[0], "HTTP 429");
  });
});
