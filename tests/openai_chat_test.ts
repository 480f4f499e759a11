import { deepStrictEqual as assertEquals } from "node:assert/strict";
import type { RenderedBody } from "../lib/types.ts";
import { ConversationTracker, fullRequestBlocks } from "../lib/conversation.ts";
import { chatUsage, openaiChat } from "../renderers/openai_chat.ts";
import {
  codes,
  deltaStep,
  entryFor,
  fieldMap,
  headings,
  jsonView,
  must,
  section,
  sseView,
  table,
} from "./tools/render_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const entry = entryFor("https://api.openai.com/v1/chat/completions");

const REFERENCE_STREAM = await Deno.readTextFile(
  new URL("../testdata/chat_reference_stream.txt", import.meta.url),
);

const META = { id: "chatcmpl-9", object: "chat.completion.chunk", created: 1, model: "gpt-4.1" };

/** A `data:` line per chunk: `choices` given, `usage: null` like OpenAI sends. */
function chunk(...choices: Record<string, unknown>[]): Record<string, unknown> {
  return { ...META, choices, usage: null };
}

/** A choice delta for choice 0. */
function d(delta: Record<string, unknown>, finish_reason: string | null = null) {
  return chunk({ index: 0, delta, finish_reason });
}

const usageChunk = (usage: Record<string, unknown>) => ({ ...META, choices: [], usage });

/** SSE text: one `data:` event per object (strings are sent as they are). */
function stream(...items: (Record<string, unknown> | string)[]): string {
  return items.map((o) => `data: ${typeof o === "string" ? o : JSON.stringify(o)}\n\n`).join("");
}

function render(text: string): RenderedBody {
  return openaiChat.renderResponse(sseView(text), entry);
}

function renderJson(body: unknown, status = 200): RenderedBody {
  return openaiChat.renderResponse(jsonView(body, status), entry);
}

const USAGE = {
  prompt_tokens: 100,
  completion_tokens: 20,
  total_tokens: 120,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0 },
};

const NO_USAGE = "no usage reported (stream_options.include_usage not set?)";

// ---------------------------------------------------------------------------------------------

Deno.test("openaiChat renderRequest", async (t) => {
  assertEquals(openaiChat.id, "openai_chat");
  assertEquals(openaiChat.name, "OpenAI Chat Completions API");

  const png = "data:image/png;base64," + "A".repeat(200);
  const body = {
    model: "gpt-4.1",
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 4096,
    max_completion_tokens: 8192,
    reasoning_effort: "high",
    temperature: 0.1,
    tool_choice: { type: "function", function: { name: "read_file" } },
    parallel_tool_calls: true,
    messages: [
      { role: "system", content: "You are opencode.\nBe terse." },
      {
        role: "developer",
        content: [{ type: "text", text: "Rule 1" }, { type: "text", text: "Rule 2" }],
      },
      {
        role: "user",
        content: [
          { type: "text", text: "what is in\nthis" },
          { type: "image_url", image_url: { url: png, detail: "high" } },
          { type: "input_audio", input_audio: { data: "aGVsbG8=", format: "wav" } },
          { type: "file", file: { filename: "a.pdf", file_data: "..." } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "read_file", arguments: '{"path":"a.ts"}' },
          },
          { id: "call_2", type: "function", function: { name: "ls", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "const a = 1;\n" },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "a.ts" }] },
      { role: "assistant", content: "Done.", refusal: null },
      { role: "function", name: "legacy_fn", content: "ok" },
      { role: "system", content: "Later reminder" },
    ],
    tools: [
      {
        type: "function",
        function: {
          name: "read_file",
          description: "Read a file.\nReturns its text.",
          parameters: {
            type: "object",
            properties: { path: { type: "string" }, limit: { type: "number" } },
            required: ["path"],
          },
          strict: true,
        },
      },
      { type: "function", function: { name: "ls", parameters: { type: "object" } } },
    ],
    n: 1,
    user: "user-123",
  };
  const out = openaiChat.renderRequest(body, entry);

  await t.step("settings fields in order", () => {
    assertEquals(out.model, "gpt-4.1");
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Model", "gpt-4.1"],
        ["Stream", "true"],
        ["Include usage", "true"],
        ["Max tokens", "4096"],
        ["Max completion tokens", "8192"],
        ["Reasoning effort", "high"],
        ["Temperature", "0.1"],
        ["Tool choice", "function: read_file"],
        ["Parallel tool calls", "true"],
      ],
    });
  });

  await t.step("section order", () => {
    assertEquals(headings(out.blocks), [
      "System prompt",
      "Messages (7)",
      "Tools (2)",
      "Tool schemas",
      "Other settings",
    ]);
  });

  await t.step("leading system/developer messages in full", () => {
    assertEquals(section(out.blocks, "System prompt"), [
      { kind: "paragraph", text: "Message 1 (system): 27 characters" },
      { kind: "code", text: "You are opencode.\nBe terse.", lang: "text" },
      { kind: "paragraph", text: "Message 2 (developer): 14 characters" },
      { kind: "code", text: "Rule 1\n\nRule 2", lang: "text" },
    ]);
  });

  await t.step("messages table: parts, tool calls, tool role", () => {
    // The leading system/developer messages (1 and 2) are the "System prompt" section.
    const t = table(section(out.blocks, "Messages (7)"));
    assertEquals(t.header, ["#", "Role", "Content"]);
    assertEquals(t.rows, [
      [
        "3",
        "user",
        "what is in ⏎ this [image: data:image/png;base64,… (222 chars)] " +
        "[audio: wav, 5 bytes base64] [file: a.pdf]",
      ],
      ["4", "assistant", 'read_file({"path":"a.ts"}) [call_1] ls({}) [call_2]'],
      ["5", "tool", "call_1 → const a = 1;"],
      ["6", "tool", "call_2 → a.ts"],
      ["7", "assistant", "Done."],
      ["8", "function", "legacy_fn → ok"],
      ["9", "system", "Later reminder"],
    ]);
  });

  await t.step("tools table and schemas", () => {
    const t = table(section(out.blocks, "Tools (2)"));
    assertEquals(t.header, ["Name", "Type", "Description", "Parameters"]);
    assertEquals(t.rows, [
      ["read_file", "function", "Read a file. …", "path*, limit"],
      ["ls", "function", "", "(none)"],
    ]);
    const schemas = JSON.parse(codes(section(out.blocks, "Tool schemas"))[0].text);
    assertEquals(Object.keys(schemas), ["read_file", "ls"]);
    assertEquals(schemas.read_file.required, ["path"]);
  });

  await t.step("other settings keep only the rest", () => {
    assertEquals(JSON.parse(codes(section(out.blocks, "Other settings"))[0].text), {
      n: 1,
      user: "user-123",
    });
  });

  await t.step("system message found later; stream_options with more keys kept", () => {
    const r = openaiChat.renderRequest({
      stream_options: { include_usage: false, extra: 1 },
      tool_choice: "required",
      messages: [{ role: "user", content: "hi" }, { role: "system", content: "late" }],
    }, entry);
    assertEquals(fieldMap(r.blocks), { "Include usage": "false", "Tool choice": "required" });
    assertEquals(codes(section(r.blocks, "System prompt")), [{ text: "late", lang: "text" }]);
    assertEquals(JSON.parse(codes(section(r.blocks, "Other settings"))[0].text), {
      stream_options: { include_usage: false, extra: 1 },
    });
  });
});

Deno.test("openaiChat renderRequest with wrong types", async (t) => {
  await t.step("non-object bodies never throw", () => {
    assertEquals(openaiChat.renderRequest(null, entry).blocks, [
      { kind: "paragraph", text: "(empty body)" },
    ]);
    assertEquals(openaiChat.renderRequest("x=1", entry).blocks, [
      { kind: "code", text: "x=1", lang: "text" },
    ]);
    assertEquals(openaiChat.renderRequest(true, entry).blocks[0], {
      kind: "paragraph",
      text: "The body is a boolean, not a JSON object.",
    });
    assertEquals(openaiChat.renderRequest([], entry).blocks[0], {
      kind: "paragraph",
      text: "The body is an array, not a JSON object.",
    });
  });

  await t.step("sections and messages of the wrong type", () => {
    const r = openaiChat.renderRequest({ messages: "hi", tools: { a: 1 } }, entry);
    assertEquals(codes(section(r.blocks, "Messages")), [{ text: '"hi"', lang: "json" }]);
    assertEquals(codes(section(r.blocks, "Tools")), [{ text: '{\n  "a": 1\n}', lang: "json" }]);

    const odd = openaiChat.renderRequest({
      messages: [
        { role: "system", content: 5 },
        null,
        7,
        { role: "user", content: { text: "obj" } },
        { role: "assistant", tool_calls: "x", extra: 1 },
        { role: "user", content: [null, 3, { type: "new_part", v: 1 }] },
        { content: "no role" },
      ],
      tools: [null, { type: "custom", custom: { name: "patch", format: { type: "grammar" } } }],
    }, entry);
    assertEquals(section(odd.blocks, "System prompt"), [
      { kind: "paragraph", text: "Message 1 (system): content is not a string or parts" },
      { kind: "code", text: "5", lang: "json" },
    ]);
    assertEquals(table(section(odd.blocks, "Messages (6)")).rows, [
      ["2", "", "null"],
      ["3", "", "7"],
      ["4", "user", '{"text":"obj"}'],
      ["5", "assistant", 'tool_calls: "x" {"extra":1}'],
      ["6", "user", 'null 3 {"type":"new_part","v":1}'],
      ["7", "", "no role"],
    ]);
    assertEquals(table(section(odd.blocks, "Tools (2)")).rows, [
      ["?", "object", "", "null"],
      ["patch", "custom", "", "format: grammar"],
    ]);
  });
});

Deno.test("openaiChat requestParts for the per-turn view", async (t) => {
  const CACHE = { cache_control: { type: "ephemeral" } };
  const tools = [
    { type: "function", function: { name: "read", parameters: { type: "object" } } },
    { type: "function", function: { name: "bash", parameters: { type: "object" } } },
  ];
  const turn = (systemText: string, messages: unknown[]) => ({
    model: "gpt-4.1",
    stream: true,
    messages: [{ role: "system", content: systemText }, ...messages],
    tools,
  });
  const long = "x".repeat(300);
  // Clients that cache (e.g. through OpenRouter) turn the newest user messages into one text
  // part with a cache breakpoint, and send them back as plain strings later.
  const first = turn("Be terse.", [
    { role: "user", content: [{ type: "text", text: "fix it", ...CACHE }] },
  ]);
  const second = turn("Be terse. Today is Monday.", [
    { role: "user", content: "fix it" },
    {
      role: "assistant",
      content: "z".repeat(300),
      tool_calls: [{ id: "call_1", type: "function", function: { name: "read", arguments: "{}" } }],
    },
    { role: "tool", tool_call_id: "call_1", content: "t".repeat(170) },
    { role: "user", content: [{ type: "text", text: long, ...CACHE }] },
  ]);
  const a = must(openaiChat.requestParts?.(first, entry));
  const b = must(openaiChat.requestParts?.(second, entry));
  const [aItems, bItems] = [must(a.items), must(b.items)];

  await t.step("the leading system messages are the system prompt, not items", () => {
    assertEquals(a.fields, [["Model", "gpt-4.1"], ["Stream", "true"]]);
    assertEquals(a.model, "gpt-4.1");
    assertEquals(a.conversationKey, undefined);
    assertEquals(must(a.system).text, "Be terse.");
    assertEquals(must(b.system).text, "Be terse. Today is Monday.");
    assertEquals(Object.keys(must(a.tools).fingerprints), ["read", "bash"]);
    assertEquals(aItems.title, "Messages");
    assertEquals(aItems.keys.length, 1);
  });

  await t.step("keys ignore cache breakpoints and a lone text part; rows keep numbers", () => {
    assertEquals(bItems.keys.slice(0, 1), aItems.keys);
    assertEquals(bItems.keys.length, 4);
    assertEquals(bItems.keys.map((_, i) => bItems.row(i)), [
      ["2", "user", "fix it"],
      ["3", "assistant", `${"z".repeat(200)}…`],
      ["4", "tool", `call_1 → ${"t".repeat(160)}…`],
      ["5", "user", `${"x".repeat(200)}…`],
    ]);
  });

  await t.step("full text of long user and tool messages, never of assistant ones", () => {
    assertEquals(bItems.keys.map((_, i) => bItems.full(i)), [
      undefined,
      undefined,
      "t".repeat(170),
      long,
    ]);
  });

  await t.step("renderRequest is the complete view of the parts", () => {
    assertEquals(openaiChat.renderRequest(second, entry), {
      blocks: fullRequestBlocks(b),
      model: "gpt-4.1",
    });
  });

  await t.step("a changed system prompt is diffed; the history still groups the requests", () => {
    const tracker = new ConversationTracker();
    const c1 = tracker.assign(a, {}, "openai_chat");
    deltaStep(a, c1, 1);
    const c2 = tracker.assign(b, {}, "openai_chat");
    assertEquals(c2, c1);
    const out = deltaStep(b, c2, 2);
    assertEquals(headings(out), [
      "System prompt (changed since #1)",
      "Messages: 3 new, 1 earlier item unchanged",
    ]);
    assertEquals(codes(out).slice(0, 1), [
      { text: "- Be terse.\n+ Be terse. Today is Monday.", lang: "diff" },
    ]);
  });

  await t.step("a later system message stays an item; odd bodies", () => {
    const late = must(
      openaiChat.requestParts?.({
        messages: [{ role: "user", content: "hi" }, { role: "system", content: "late" }],
      }, entry),
    );
    assertEquals(must(late.system).text, "late");
    assertEquals(must(late.items).keys.length, 2);
    assertEquals(openaiChat.requestParts?.(7, entry), undefined);
    const raw = must(openaiChat.requestParts?.({ messages: "hi" }, entry));
    assertEquals(raw.items, undefined);
    assertEquals(headings(raw.extra), ["Messages"]);
  });
});

Deno.test("openaiChat renderResponse (SSE)", async (t) => {
  await t.step("reference stream: text, tool call, finish reason, usage, events", () => {
    const out = render(REFERENCE_STREAM);
    assertEquals(out.problems, []);
    assertEquals(out.usage, { input: 900, output: 25, total: 925, cached: 512 });
    assertEquals(out.model, "gpt-4.1");
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Completion ID", "chatcmpl-1"],
        ["Model", "gpt-4.1"],
        ["Finish reason", "tool_calls"],
        ["Usage", "900 input | 25 output | 925 total | 512 cached"],
      ],
    });
    assertEquals(codes(section(out.blocks, "Output text")), [
      { text: "Let me look.", lang: "text" },
    ]);
    assertEquals(section(out.blocks, "Tool calls"), [
      {
        kind: "fields",
        rows: [["Name", "read_file"], ["Call ID", "call_A"], ["Type", "function"]],
      },
      { kind: "code", text: '{\n  "path": "a.ts"\n}', lang: "json" },
    ]);
    assertEquals(table(section(out.blocks, "SSE events (7)")), {
      header: ["Event type", "Count"],
      rows: [["chunk", "5"], ["usage chunk", "1"], ["[DONE]", "1"]],
    });
  });

  await t.step("[DONE] without the final blank line is not a cut-off", () => {
    const out = render(REFERENCE_STREAM.trimEnd());
    assertEquals(out.problems, []);
  });

  await t.step("two tool calls with fragments interleaved, joined by index", () => {
    const out = render(stream(
      d({ role: "assistant", content: null }),
      d({
        tool_calls: [
          { index: 0, id: "call_A", type: "function", function: { name: "read", arguments: "" } },
          { index: 1, id: "call_B", type: "function", function: { name: "grep", arguments: "" } },
        ],
      }),
      d({ tool_calls: [{ index: 1, function: { arguments: '{"pat' } }] }),
      d({ tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] }),
      d({ tool_calls: [{ index: 1, function: { arguments: 'tern":"TODO"}' } }] }),
      d({ tool_calls: [{ index: 0, function: { arguments: '"b.ts"}' } }] }),
      d({}, "tool_calls"),
      usageChunk(USAGE),
      "[DONE]",
    ));
    assertEquals(out.problems, []);
    assertEquals(section(out.blocks, "Tool calls"), [
      { kind: "fields", rows: [["Name", "read"], ["Call ID", "call_A"], ["Type", "function"]] },
      { kind: "code", text: '{\n  "path": "b.ts"\n}', lang: "json" },
      { kind: "fields", rows: [["Name", "grep"], ["Call ID", "call_B"], ["Type", "function"]] },
      { kind: "code", text: '{\n  "pattern": "TODO"\n}', lang: "json" },
    ]);
    assertEquals(out.usage, { input: 100, output: 20, total: 120 });
    assertEquals(headings(out.blocks), ["Tool calls", "SSE events (9)"]);
  });

  await t.step("pieces without index: by id, else onto the last call", () => {
    const out = render(stream(
      d({ tool_calls: [{ id: "c1", function: { name: "a", arguments: '{"x":' } }] }),
      d({ tool_calls: [{ function: { arguments: "1}" } }] }),
      d({ tool_calls: [{ id: "c2", function: { name: "b", arguments: "{}" } }] }),
      d({}, "tool_calls"),
      "[DONE]",
    ));
    assertEquals(codes(section(out.blocks, "Tool calls")), [
      { text: '{\n  "x": 1\n}', lang: "json" },
      { text: "{}", lang: "json" },
    ]);
    assertEquals(out.problems, [NO_USAGE]);
  });

  await t.step("truncated: no [DONE], no finish_reason; partial tool call", () => {
    const out = render(stream(
      d({ role: "assistant", content: "Checking" }),
      d({
        tool_calls: [{
          index: 0,
          id: "call_Z",
          type: "function",
          function: { name: "bash", arguments: '{"cmd":"l' },
        }],
      }),
    ));
    assertEquals(out.problems, [
      "stream truncated: no [DONE] or finish_reason (last event: chunk)",
      NO_USAGE,
    ]);
    assertEquals(section(out.blocks, "Output text"), [
      { kind: "code", text: "Checking", lang: "text" },
      { kind: "paragraph", text: "Cut off: assembled from delta events (never completed)." },
    ]);
    assertEquals(section(out.blocks, "Tool calls"), [
      {
        kind: "fields",
        rows: [["Name", "bash"], ["Call ID", "call_Z"], ["Type", "function"], [
          "Status",
          "incomplete (assembled from deltas)",
        ]],
      },
      { kind: "code", text: '{"cmd":"l', lang: "text" },
    ]);
    assertEquals(out.blocks[1], {
      kind: "paragraph",
      text: "The stream was cut off (no [DONE] or finish_reason (last event: chunk)). " +
        "Choices that never finished were assembled from delta chunks.",
    });
  });

  await t.step("cut off mid-event", () => {
    const text = stream(d({ role: "assistant", content: "Hel" })) + 'data: {"id":"chatcmpl-9","ob';
    const out = render(text);
    assertEquals(out.problems, [
      "stream truncated: no [DONE] or finish_reason (last event: (not JSON), cut off mid-event)",
      NO_USAGE,
    ]);
    assertEquals(codes(section(out.blocks, "Last event (cut off)")), [
      { text: '{"id":"chatcmpl-9","ob', lang: "text" },
    ]);
  });

  await t.step("finish_reason without [DONE] or usage chunk: only the usage problem", () => {
    const out = render(stream(d({ content: "Hi" }), d({}, "stop")));
    assertEquals(out.problems, [NO_USAGE]);
    assertEquals(fieldMap(out.blocks)["Finish reason"], "stop");
  });

  await t.step("error mid-stream", () => {
    const out = render(stream(
      d({ role: "assistant", content: "Part" }),
      {
        error: {
          message: "The server had an error",
          type: "server_error",
          param: null,
          code: null,
        },
      },
    ));
    assertEquals(table(section(out.blocks, "Errors")), {
      header: ["Source", "Type", "Code", "Message", "Param"],
      rows: [["error event", "server_error", "", "The server had an error", ""]],
    });
    assertEquals(out.problems, ["error event: server_error: The server had an error", NO_USAGE]);
    assertEquals(table(section(out.blocks, "SSE events (2)")).rows, [
      ["chunk", "1"],
      ["error", "1"],
    ]);
  });

  await t.step("refusal, reasoning_content, length finish, reasoning usage", () => {
    const out = render(stream(
      d({ role: "assistant", reasoning_content: "Think" }),
      d({ reasoning_content: "ing", content: null }),
      d({ refusal: "I can't " }),
      d({ refusal: "help." }, "length"),
      usageChunk({
        prompt_tokens: 10,
        completion_tokens: 50,
        total_tokens: 60,
        completion_tokens_details: { reasoning_tokens: 40 },
      }),
      "[DONE]",
    ));
    assertEquals(codes(section(out.blocks, "Refusal")), [{ text: "I can't help.", lang: "text" }]);
    assertEquals(codes(section(out.blocks, "Reasoning (reasoning_content)")), [
      { text: "Thinking", lang: "text" },
    ]);
    assertEquals(out.problems, ["finish reason: length (output cut off)"]);
    assertEquals(out.usage, { input: 10, output: 50, total: 60, reasoning: 40 });
    assertEquals(fieldMap(out.blocks).Usage, "10 input | 50 output | 60 total | 40 reasoning");
  });

  await t.step("several choices get their own sections", () => {
    const out = render(stream(
      chunk({ index: 0, delta: { content: "A" }, finish_reason: null }, {
        index: 1,
        delta: { content: "B" },
        finish_reason: null,
      }),
      chunk({ index: 1, delta: {}, finish_reason: "stop" }),
      chunk({ index: 0, delta: {}, finish_reason: "length" }),
      usageChunk(USAGE),
      "[DONE]",
    ));
    assertEquals(fieldMap(out.blocks)["Finish reason"], "0: length, 1: stop");
    assertEquals(codes(section(out.blocks, "Output text (choice 0)")), [{
      text: "A",
      lang: "text",
    }]);
    assertEquals(codes(section(out.blocks, "Output text (choice 1)")), [{
      text: "B",
      lang: "text",
    }]);
  });

  await t.step("non-JSON data and unknown objects are shown, not thrown", () => {
    const out = render(stream("not json", { object: "keepalive" }, d({}, "stop"), "[DONE]"));
    assertEquals(out.problems, [NO_USAGE, "1 SSE event(s) with data that is not a JSON object"]);
    assertEquals(table(section(out.blocks, "SSE events (4)")).rows, [
      ["(not JSON)", "1"],
      ["keepalive", "1"],
      ["chunk", "1"],
      ["[DONE]", "1"],
    ]);
    assertEquals(section(out.blocks, "Other events (first of each type)")[0], {
      kind: "fields",
      rows: [["Event", "keepalive"]],
    });
    const odd = render(stream(
      { choices: [null, 5, { index: 0, delta: "x" }], usage: "y" },
      { choices: [{ index: 0, delta: { tool_calls: [null, { index: "1" }] } }] },
      "[DONE]",
    ));
    assertEquals(odd.problems, [NO_USAGE]);
    const empty = openaiChat.renderResponse(
      { kind: "sse", status: 200, contentType: "text/event-stream", body: "", events: [] },
      entry,
    );
    assertEquals(empty.problems, [
      "stream truncated: no [DONE] or finish_reason (last event: none)",
      NO_USAGE,
    ]);
  });

  await t.step("chatUsage on odd objects", () => {
    assertEquals(chatUsage("x"), undefined);
    assertEquals(chatUsage({ total_tokens: 5 }), undefined);
    assertEquals(chatUsage({ prompt_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } }), {
      input: 3,
      output: 0,
      total: 3,
      cached: 2,
    });
  });
});

Deno.test("openaiChat renderResponse (JSON and text bodies)", async (t) => {
  await t.step("a chat.completion body renders like the equivalent stream", () => {
    const json = renderJson({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1700000000,
      model: "gpt-4.1",
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: "Let me look.",
          refusal: null,
          annotations: [],
          tool_calls: [{
            id: "call_A",
            type: "function",
            function: { name: "read_file", arguments: '{"path":"a.ts"}' },
          }],
        },
        logprobs: null,
        finish_reason: "tool_calls",
      }],
      usage: {
        prompt_tokens: 900,
        completion_tokens: 25,
        total_tokens: 925,
        prompt_tokens_details: { cached_tokens: 512 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
    const streamed = render(REFERENCE_STREAM);
    assertEquals(json.blocks, streamed.blocks.slice(0, -2));
    assertEquals(json.usage, streamed.usage);
    assertEquals(json.problems, []);
  });

  await t.step("unknown message fields shown; odd choices; missing usage", () => {
    const out = renderJson({
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: "x", audio: { id: "a1" } } }, 3],
    });
    assertEquals(codes(section(out.blocks, "Other message fields (choice 0)")), [
      { text: '{\n  "audio": {\n    "id": "a1"\n  }\n}', lang: "json" },
    ]);
    assertEquals(codes(section(out.blocks, "Other message fields (choice 1)")), [
      { text: '{\n  "(not an object)": 3\n}', lang: "json" },
    ]);
    assertEquals(out.problems, ["no usage reported"]);
    assertEquals(renderJson({ object: "chat.completion", choices: [] }).blocks, [
      { kind: "paragraph", text: "(no choices)" },
    ]);
  });

  await t.step("error body: API error fields and problem", () => {
    const out = renderJson({
      error: {
        message: "Rate limit reached",
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      },
    }, 429);
    assertEquals(out.blocks, [
      { kind: "heading", text: "API error" },
      {
        kind: "fields",
        rows: [
          ["HTTP status", "429"],
          ["Type", "requests"],
          ["Code", "rate_limit_exceeded"],
          ["Message", "Rate limit reached"],
        ],
      },
    ]);
    assertEquals(out.problems, ["API error 429: Rate limit reached"]);
    assertEquals(renderJson({ error: "bad key" }, 401).problems, ["API error 401: bad key"]);
  });

  await t.step("other, string, null and number bodies", () => {
    assertEquals(renderJson({ ok: true }).blocks, [
      { kind: "code", text: '{\n  "ok": true\n}', lang: "json" },
    ]);
    assertEquals(renderJson("Bad gateway", 502).blocks, [
      { kind: "code", text: "Bad gateway", lang: "text" },
    ]);
    assertEquals(renderJson(null).blocks, [{ kind: "paragraph", text: "(empty body)" }]);
    assertEquals(renderJson(3).blocks[0], {
      kind: "paragraph",
      text: "The body is a number, not a JSON object.",
    });
  });
});
