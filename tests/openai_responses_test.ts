import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { RenderedBody, ResponseView, SseEvent } from "../lib/types.ts";
import { openaiResponses } from "../renderers/openai_responses.ts";
import { base64Bytes } from "../lib/base64.ts";
import { remainingKeys } from "../lib/json.ts";
import { formatUsage } from "../renderers/response.ts";
import { parseSseEvent } from "../renderers/sse_events.ts";
import { charCount, excerpt, firstLine, oneLine, truncate } from "../renderers/text.ts";
import { paramSummary } from "../renderers/tools.ts";
import {
  codes,
  entryFor,
  eventStream,
  fieldMap,
  headings,
  jsonView,
  section,
  table,
} from "./tools/render_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const entry = entryFor("https://api.openai.com/v1/responses");

/** A tiny SSE splitter for tests: blocks separated by a blank line; a tail without one is cut. */
function sse(text: string): SseEvent[] {
  const chunks = text.split("\n\n");
  const tail = chunks.pop() ?? "";
  const events: SseEvent[] = [];
  const toEvent = (chunk: string, complete: boolean) => {
    let type = "message";
    const data: string[] = [];
    for (const line of chunk.split("\n")) {
      if (line.startsWith("event: ")) type = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) events.push({ type, data: data.join("\n"), lastEventId: "", complete });
  };
  for (const chunk of chunks) toEvent(chunk, true);
  if (tail.trim() !== "") toEvent(tail, false);
  return events;
}

function view(events: SseEvent[]): ResponseView {
  return { kind: "sse", status: 200, contentType: "text/event-stream", body: null, events };
}

const completedUsage = {
  input_tokens: 245,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 89,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 334,
};

// The complete example of the reference (section 2).
const REFERENCE_STREAM = eventStream(
  {
    type: "response.created",
    sequence_number: 0,
    response: {
      id: "resp_1",
      object: "response",
      status: "in_progress",
      model: "gpt-5-codex",
      output: [],
    },
  },
  {
    type: "response.output_item.added",
    output_index: 0,
    item: { id: "msg_1", type: "message", role: "assistant", status: "in_progress", content: [] },
  },
  {
    type: "response.output_text.delta",
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: "Reading a.ts.",
  },
  {
    type: "response.output_item.done",
    output_index: 0,
    item: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: "Reading a.ts.", annotations: [] }],
    },
  },
  {
    type: "response.output_item.added",
    output_index: 1,
    item: { id: "fc_1", type: "function_call", call_id: "call_A", name: "shell", arguments: "" },
  },
  {
    type: "response.function_call_arguments.delta",
    item_id: "fc_1",
    output_index: 1,
    delta: '{"command":["cat","a.ts"]}',
  },
  {
    type: "response.output_item.done",
    output_index: 1,
    item: {
      id: "fc_1",
      type: "function_call",
      status: "completed",
      call_id: "call_A",
      name: "shell",
      arguments: '{"command":["cat","a.ts"]}',
    },
  },
  {
    type: "response.completed",
    response: {
      id: "resp_1",
      object: "response",
      status: "completed",
      model: "gpt-5-codex",
      output: [
        {
          id: "msg_1",
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "Reading a.ts." }],
        },
        {
          id: "fc_1",
          type: "function_call",
          status: "completed",
          call_id: "call_A",
          name: "shell",
          arguments: '{"command":["cat","a.ts"]}',
        },
      ],
      usage: {
        input_tokens: 1200,
        input_tokens_details: { cached_tokens: 1024 },
        output_tokens: 40,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 1240,
      },
    },
  },
);

function renderStream(text: string): RenderedBody {
  return openaiResponses.renderResponse(view(sse(text)), entry);
}

// ---------------------------------------------------------------------------------------------

Deno.test("openaiResponses common helpers", async (t) => {
  await t.step("truncate, oneLine, excerpt", () => {
    assertEquals(truncate("abcdef", 3), "abc…");
    assertEquals(truncate("abc", 3), "abc");
    assertEquals(truncate("a😀b", 2), "a…"); // never half a surrogate pair
    assertEquals(oneLine("a\n  b\r\nc"), "a ⏎ b ⏎ c");
    assertEquals(excerpt("  x\ny  ", 10), "x ⏎ y");
  });
  await t.step("excerpt reads a bounded prefix of huge text, with the same result", () => {
    assertEquals(excerpt("x".repeat(5_000_000) + "\n", 5), "xxxxx…");
    // A blank run far past the prefix folds into one " ⏎ ", as on the whole text.
    assertEquals(excerpt("a" + " ".repeat(10_000) + "\n" + "b".repeat(300), 10), "a ⏎ bbbbbb…");
    assertEquals(excerpt(("x" + " ".repeat(300) + "\n").repeat(50), 12), "x ⏎ x ⏎ x ⏎ …");
    assertEquals(excerpt("y".repeat(199) + "😀" + "z".repeat(1000)), "y".repeat(199) + "…");
    assertEquals(excerpt("\u0001".repeat(1000) + "q", 3), "   …");
    assertEquals(excerpt("a\t".repeat(1000), 4), "a\ta\t…");
  });
  await t.step("charCount counts code points; base64Bytes; firstLine", () => {
    assertEquals(charCount("a😀b\ud800"), 4);
    assertEquals(charCount("é".repeat(1000)), 1000);
    assertEquals(charCount("\udc00\ud83d\ude00\ud83d"), 3);
    assertEquals(base64Bytes("aGVsbG8="), 5);
    assertEquals(base64Bytes("aGVs\nbG8=\n"), 5);
    assertEquals(base64Bytes("YQ=="), 1);
    assertEquals(firstLine("  first\r\nsecond"), "first …");
    assertEquals(firstLine("only"), "only");
  });
  await t.step("SSE data is parsed once: the event's json memo is used", () => {
    const ev: SseEvent = { type: "message", data: '{"type":"a"}', lastEventId: "", complete: true };
    assertEquals(parseSseEvent(ev).type, "a");
    assertEquals(ev.json, { type: "a" });
    ev.json = { type: "memo" };
    assertEquals(parseSseEvent(ev).type, "memo");
  });
  await t.step("paramSummary marks required parameters", () => {
    const schema = {
      type: "object",
      properties: { path: {}, content: {}, mode: {} },
      required: ["path", "content"],
    };
    assertEquals(paramSummary(schema), "path*, content*, mode");
    assertEquals(paramSummary("nope"), "");
  });
  await t.step("formatUsage shows cached/reasoning only above zero", () => {
    assertEquals(
      formatUsage({ input: 245, output: 89, total: 334 }),
      "245 input | 89 output | 334 total",
    );
    assertEquals(
      formatUsage({ input: 245, output: 89, total: 334, cached: 1024, reasoning: 12 }),
      "245 input | 89 output | 334 total | 1024 cached | 12 reasoning",
    );
    assertEquals(
      formatUsage({ input: 1, output: 2, total: 3, cached: 0, reasoning: 0 }),
      "1 input | 2 output | 3 total",
    );
  });
});

Deno.test("openaiResponses renderRequest", async (t) => {
  assertEquals(openaiResponses.id, "openai_responses");
  assertEquals(openaiResponses.name, "OpenAI Responses API");

  const body = {
    model: "gpt-5-codex",
    instructions: "You are Codex.\nBe brief.",
    input: [
      {
        type: "message",
        role: "developer",
        content: [{ type: "input_text", text: "<permissions>\nsandbox\n</permissions>" }],
      },
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "fix the bug" },
          { type: "input_image", image_url: "https://x.test/a.png" },
        ],
      },
      { role: "assistant", content: "Sure." },
      {
        type: "reasoning",
        id: "rs_1",
        summary: [{ type: "summary_text", text: "Looking at files" }],
        encrypted_content: "gAAAA" + "x".repeat(95),
      },
      {
        type: "function_call",
        name: "shell",
        arguments: '{"command":["ls"]}',
        call_id: "call_1",
      },
      { type: "function_call_output", call_id: "call_1", output: "a.ts\nb.ts" },
      { type: "custom_tool_call", name: "apply_patch", input: "*** Begin Patch", call_id: "c2" },
      { type: "custom_tool_call_output", call_id: "c2", output: "Done!" },
      { type: "compaction", encrypted_content: "zzz" },
      { type: "local_shell_call", call_id: "ls1", action: { type: "exec", command: ["pwd"] } },
    ],
    tools: [
      {
        type: "function",
        name: "write_file",
        description: "Write a file.\nMore details here.",
        strict: false,
        parameters: {
          type: "object",
          properties: { path: { type: "string" }, content: { type: "string" }, mode: {} },
          required: ["path", "content"],
        },
      },
      {
        type: "custom",
        name: "apply_patch",
        description: "Apply a patch",
        format: { type: "grammar", syntax: "lark", definition: "start: x" },
      },
      { type: "web_search" },
    ],
    tool_choice: "auto",
    parallel_tool_calls: false,
    reasoning: { effort: "high", summary: "auto" },
    store: false,
    stream: true,
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: "conv-123",
    previous_response_id: "resp_prev",
    text: { verbosity: "low", format: { type: "text" } },
    service_tier: "auto",
    temperature: 0.2,
    metadata: { long: "y".repeat(1000) },
  };
  const out = openaiResponses.renderRequest(body, entry);

  await t.step("settings fields in order, only the present ones", () => {
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Model", "gpt-5-codex"],
        ["Stream", "true"],
        ["Store", "false"],
        ["Reasoning", "effort: high, summary: auto"],
        ["Tool choice", "auto"],
        ["Parallel tool calls", "false"],
        ["Continues", "resp_prev"],
        ["Prompt cache key", "conv-123"],
        ["Include", "reasoning.encrypted_content"],
        ["Text", "verbosity: low, format: text"],
        ["Service tier", "auto"],
      ],
    });
  });

  await t.step("section order", () => {
    assertEquals(headings(out.blocks), [
      "System prompt (instructions)",
      "Input items (10)",
      "Tools (3)",
      "Tool schemas",
      "Other settings",
    ]);
  });

  await t.step("instructions: raw text and length", () => {
    const s = section(out.blocks, "System prompt (instructions)");
    assertEquals(fieldMap(s), { Length: "24 characters" });
    assertEquals(codes(s), [{ text: "You are Codex.\nBe brief.", lang: "text" }]);
  });

  await t.step("input items table", () => {
    const t = table(section(out.blocks, "Input items (10)"));
    assertEquals(t.header, ["#", "Role", "Type", "Content"]);
    assertEquals(t.rows, [
      ["1", "developer", "message", "<permissions> ⏎ sandbox ⏎ </permissions>"],
      ["2", "user", "message", "fix the bug [image: https://x.test/a.png]"],
      ["3", "assistant", "message", "Sure."],
      ["4", "", "reasoning", "Looking at files [encrypted 100 chars]"],
      ["5", "", "function_call", 'shell({"command":["ls"]}) [call_1]'],
      ["6", "", "function_call_output", "call_1 → a.ts ⏎ b.ts"],
      ["7", "", "custom_tool_call", "apply_patch: *** Begin Patch [c2]"],
      ["8", "", "custom_tool_call_output", "c2 → Done!"],
      ["9", "", "compaction", '{"encrypted_content":"zzz"}'],
      [
        "10",
        "",
        "local_shell_call",
        '{"call_id":"ls1","action":{"type":"exec","command":["pwd"]}}',
      ],
    ]);
  });

  await t.step("tools table and schemas", () => {
    const t = table(section(out.blocks, "Tools (3)"));
    assertEquals(t.header, ["Name", "Type", "Description", "Parameters"]);
    assertEquals(t.rows, [
      ["write_file", "function", "Write a file. …", "path*, content*, mode"],
      ["apply_patch", "custom", "Apply a patch", "format: grammar (lark)"],
      ["web_search", "web_search", "", ""],
    ]);
    const schemas = JSON.parse(codes(section(out.blocks, "Tool schemas"))[0].text);
    assertEquals(Object.keys(schemas), ["write_file", "apply_patch"]);
    assertEquals(schemas.write_file.required, ["path", "content"]);
  });

  // Deno has no Object.prototype.__proto__ setter, so the key is never taken as a prototype.
  await t.step('a "__proto__" key of a body stays a key of the other settings', () => {
    const body = JSON.parse('{"model":"m","input":"hi","__proto__":{"a":1},"x":2}');
    const rest = remainingKeys(body, new Set(["model", "input"]))!;
    assertEquals(Object.keys(rest), ["__proto__", "x"]);
    assertEquals(Object.getPrototypeOf(rest), Object.prototype);
    const r = openaiResponses.renderRequest(body, entryFor("https://x/v1/responses", "POST", body));
    const settings = JSON.parse(codes(section(r.blocks, "Other settings"))[0].text);
    assertEquals(Object.keys(settings), ["__proto__", "x"]);
    assertEquals(Object.getOwnPropertyDescriptor(settings, "__proto__")?.value, { a: 1 });
  });

  await t.step("other settings keep the rest, long strings cut", () => {
    const [c] = codes(section(out.blocks, "Other settings"));
    assertEquals(c.lang, "json");
    const rest = JSON.parse(c.text);
    assertEquals(Object.keys(rest), ["temperature", "metadata"]);
    assertEquals(rest.temperature, 0.2);
    assertEquals(rest.metadata.long, "y".repeat(300) + "… (1000 chars)");
  });

  await t.step("long message content is cut to one line of about 200 chars", () => {
    const r = openaiResponses.renderRequest({
      input: [{ role: "user", content: "w\n".repeat(300) }],
    }, entry);
    const cell = table(r.blocks).rows[0][3];
    assert(cell.endsWith("…"));
    assertEquals(cell.length, 201);
    assert(!cell.includes("\n"));
  });

  await t.step("string input is one user row", () => {
    const r = openaiResponses.renderRequest({ model: "m", input: "hello\nworld" }, entry);
    assertEquals(table(section(r.blocks, "Input items (1)")).rows, [
      ["1", "user", "message", "hello ⏎ world"],
    ]);
  });

  await t.step("WebSocket response.create frame", () => {
    const r = openaiResponses.renderRequest(
      { type: "response.create", model: "m", generate: false, input: [] },
      entry,
    );
    assertEquals(r.blocks[0], {
      kind: "fields",
      rows: [["Frame type", "response.create"], ["Model", "m"], [
        "Generate",
        "false (prewarm: no output)",
      ]],
    });
  });
});

Deno.test("openaiResponses renderRequest with wrong types", async (t) => {
  await t.step("non-object bodies never throw", () => {
    assertEquals(openaiResponses.renderRequest(null, entry).blocks, [
      { kind: "paragraph", text: "(empty body)" },
    ]);
    assertEquals(openaiResponses.renderRequest("not json {", entry).blocks, [
      { kind: "code", text: "not json {", lang: "text" },
    ]);
    assertEquals(openaiResponses.renderRequest(42, entry).blocks, [
      { kind: "paragraph", text: "The body is a number, not a JSON object." },
      { kind: "code", text: "42", lang: "json" },
    ]);
    const arr = openaiResponses.renderRequest([1, "a"], entry).blocks;
    assertEquals(arr[0], { kind: "paragraph", text: "The body is an array, not a JSON object." });
    assertEquals(openaiResponses.renderRequest(undefined, entry).blocks.length, 1);
  });

  await t.step("fields of the wrong type", () => {
    const r = openaiResponses.renderRequest(
      {
        model: 5,
        instructions: ["a"],
        input: { role: "user" },
        tools: "none",
        reasoning: null,
        include: "x",
      },
      entry,
    );
    assertEquals(fieldMap(r.blocks), { Model: "5", Reasoning: "null", Include: "x" });
    assertEquals(codes(section(r.blocks, "System prompt (instructions)")), [
      { text: '[\n  "a"\n]', lang: "json" },
    ]);
    assertEquals(codes(section(r.blocks, "Input")), [
      { text: '{\n  "role": "user"\n}', lang: "json" },
    ]);
    assertEquals(codes(section(r.blocks, "Tools")), [{ text: '"none"', lang: "json" }]);
  });

  await t.step("odd items and tools inside arrays", () => {
    const r = openaiResponses.renderRequest(
      {
        input: [
          null,
          "text",
          { type: "message", role: "user", content: 7 },
          { type: "brand_new_item", foo: "bar" },
        ],
        tools: [3, { type: "function", name: "f", parameters: "oops" }],
      },
      entry,
    );
    assertEquals(table(section(r.blocks, "Input items (4)")).rows, [
      ["1", "", "object", "null"],
      ["2", "", "string", '"text"'],
      ["3", "user", "message", "7"],
      ["4", "", "brand_new_item", '{"foo":"bar"}'],
    ]);
    assertEquals(table(section(r.blocks, "Tools (2)")).rows, [
      ["?", "number", "", "3"],
      ["f", "function", "", '"oops"'],
    ]);
  });
});

Deno.test("openaiResponses renderResponse (SSE)", async (t) => {
  await t.step("complete stream: output, tool call, usage, events", () => {
    const out = renderStream(REFERENCE_STREAM);
    assertEquals(out.problems, []);
    assertEquals(out.usage, { input: 1200, output: 40, total: 1240, cached: 1024 });
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Response", "resp_1"],
        ["Model", "gpt-5-codex"],
        ["Status", "completed"],
        ["Usage", "1200 input | 40 output | 1240 total | 1024 cached"],
      ],
    });
    assertEquals(codes(section(out.blocks, "Output text")), [
      { text: "Reading a.ts.", lang: "text" },
    ]);
    const calls = section(out.blocks, "Tool calls");
    assertEquals(calls, [
      {
        kind: "fields",
        rows: [["Name", "shell"], ["Call ID", "call_A"], ["Type", "function_call"], [
          "Status",
          "completed",
        ]],
      },
      { kind: "code", text: '{\n  "command": [\n    "cat",\n    "a.ts"\n  ]\n}', lang: "json" },
    ]);
    assertEquals(table(section(out.blocks, "SSE events (8)")), {
      header: ["Event type", "Count"],
      rows: [
        ["response.created", "1"],
        ["response.output_item.added", "2"],
        ["response.output_text.delta", "1"],
        ["response.output_item.done", "2"],
        ["response.function_call_arguments.delta", "1"],
        ["response.completed", "1"],
      ],
    });
  });

  await t.step("usage line without and with cached/reasoning", () => {
    const plain = renderStream(eventStream({
      type: "response.completed",
      response: { id: "r", status: "completed", output: [], usage: completedUsage },
    }));
    assertEquals(fieldMap(plain.blocks).Usage, "245 input | 89 output | 334 total");
    assertEquals(plain.usage, { input: 245, output: 89, total: 334 });

    const rich = renderStream(eventStream({
      type: "response.completed",
      response: {
        status: "completed",
        output: [],
        usage: {
          ...completedUsage,
          input_tokens_details: { cached_tokens: 1024 },
          output_tokens_details: { reasoning_tokens: 12 },
        },
      },
    }));
    assertEquals(
      fieldMap(rich.blocks).Usage,
      "245 input | 89 output | 334 total | 1024 cached | 12 reasoning",
    );
    assertEquals(rich.usage, { input: 245, output: 89, total: 334, cached: 1024, reasoning: 12 });
  });

  await t.step("truncated stream: function_call arguments assembled from deltas", () => {
    const text = eventStream(
      { type: "response.created", response: { id: "resp_2", status: "in_progress", output: [] } },
      {
        type: "response.output_item.added",
        output_index: 0,
        item: {
          id: "fc_9",
          type: "function_call",
          call_id: "call_Z",
          name: "shell",
          arguments: "",
        },
      },
      {
        type: "response.function_call_arguments.delta",
        item_id: "fc_9",
        output_index: 0,
        delta: '{"command":',
      },
      {
        type: "response.function_call_arguments.delta",
        item_id: "fc_9",
        output_index: 0,
        delta: '["ls"]}',
      },
    );
    const out = renderStream(text);
    assertEquals(out.problems, [
      "stream truncated: no response.completed (last event: response.function_call_arguments.delta)",
      "no usage reported",
    ]);
    assertEquals(out.usage, undefined);
    assertEquals(section(out.blocks, "Tool calls"), [
      {
        kind: "fields",
        rows: [["Name", "shell"], ["Call ID", "call_Z"], ["Type", "function_call"], [
          "Status",
          "incomplete (assembled from deltas)",
        ]],
      },
      { kind: "code", text: '{\n  "command": [\n    "ls"\n  ]\n}', lang: "json" },
    ]);
    assert(
      out.blocks.some((b) =>
        b.kind === "paragraph" && b.text.startsWith("The stream was cut off (no response.completed")
      ),
    );
  });

  await t.step("cut mid-event: raw arguments and last event shown", () => {
    const text = eventStream(
      {
        type: "response.function_call_arguments.delta",
        item_id: "fc_1",
        output_index: 0,
        delta: '{"path":"a',
      },
    ) + 'event: response.function_call_arguments.delta\ndata: {"type":"response.fun';
    const out = renderStream(text);
    assertEquals(out.problems, [
      "stream truncated: no response.completed (last event: " +
      "response.function_call_arguments.delta, cut off mid-event)",
      "no usage reported",
    ]);
    const calls = section(out.blocks, "Tool calls");
    assertEquals(calls[1], { kind: "code", text: '{"path":"a', lang: "text" });
    assertEquals(codes(section(out.blocks, "Last event (cut off)")), [
      { text: '{"type":"response.fun', lang: "text" },
    ]);
  });

  await t.step("output_item.done is preferred over deltas", () => {
    const out = renderStream(eventStream(
      {
        type: "response.output_text.delta",
        item_id: "m",
        output_index: 0,
        content_index: 0,
        delta: "Hel",
      },
      {
        type: "response.output_item.done",
        output_index: 0,
        item: {
          id: "m",
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "Hello world" }],
        },
      },
      {
        type: "response.output_text.delta",
        item_id: "m2",
        output_index: 1,
        content_index: 0,
        delta: "Partial",
      },
    ));
    assertEquals(section(out.blocks, "Output text"), [
      { kind: "code", text: "Hello world\n\nPartial", lang: "text" },
      { kind: "paragraph", text: "Cut off: assembled from delta events (never completed)." },
    ]);
  });

  await t.step("reasoning summary (done item and deltas), raw reasoning, encrypted note", () => {
    const done = renderStream(eventStream(
      {
        type: "response.output_item.done",
        output_index: 0,
        item: {
          id: "rs_1",
          type: "reasoning",
          summary: [{ type: "summary_text", text: "**Plan**\nRead a.ts" }, {
            type: "summary_text",
            text: "Then edit",
          }],
          encrypted_content: "gAAAAABoABCDEFGHIJKLMNOP",
        },
      },
      { type: "response.completed", response: { status: "completed", usage: completedUsage } },
    ));
    assertEquals(section(done.blocks, "Reasoning summary"), [
      { kind: "code", text: "**Plan**\nRead a.ts\n\nThen edit", lang: "text" },
      { kind: "paragraph", text: "Encrypted reasoning: gAAAAABoAB… (24 chars)." },
    ]);

    const deltas = renderStream(eventStream(
      {
        type: "response.reasoning_summary_text.delta",
        item_id: "rs",
        output_index: 0,
        summary_index: 0,
        delta: "Think",
      },
      {
        type: "response.reasoning_summary_text.delta",
        item_id: "rs",
        output_index: 0,
        summary_index: 0,
        delta: "ing",
      },
      {
        type: "response.reasoning_text.delta",
        item_id: "rs",
        output_index: 0,
        content_index: 0,
        delta: "raw thoughts",
      },
    ));
    assertEquals(codes(section(deltas.blocks, "Reasoning summary")), [{
      text: "Thinking",
      lang: "text",
    }]);
    assertEquals(codes(section(deltas.blocks, "Reasoning text")), [{
      text: "raw thoughts",
      lang: "text",
    }]);
  });

  await t.step("custom_tool_call: input shown raw, also rebuilt from deltas", () => {
    const patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch";
    const out = renderStream(eventStream(
      {
        type: "response.output_item.done",
        output_index: 0,
        item: {
          type: "custom_tool_call",
          call_id: "call_P",
          name: "apply_patch",
          input: patch,
          status: "completed",
        },
      },
      {
        type: "response.custom_tool_call_input.delta",
        item_id: "ct2",
        output_index: 1,
        delta: "*** Begin",
      },
    ));
    assertEquals(section(out.blocks, "Tool calls"), [
      {
        kind: "fields",
        rows: [["Name", "apply_patch"], ["Call ID", "call_P"], ["Type", "custom_tool_call"], [
          "Status",
          "completed",
        ]],
      },
      { kind: "code", text: patch, lang: "text" },
      {
        kind: "fields",
        rows: [["Name", "custom_tool"], ["Type", "custom_tool_call"], [
          "Status",
          "incomplete (assembled from deltas)",
        ]],
      },
      { kind: "code", text: "*** Begin", lang: "text" },
    ]);
  });

  await t.step("error events: nested and top-level", () => {
    const out = renderStream(eventStream(
      { type: "error", code: "rate_limit_exceeded", message: "Slow down", param: null },
      {
        type: "error",
        status: 429,
        error: { type: "usage_limit_reached", code: "limit", message: "Quota" },
      },
    ));
    assertEquals(table(section(out.blocks, "Errors")), {
      header: ["Source", "Type", "Code", "Message", "Param"],
      rows: [
        ["error event", "", "rate_limit_exceeded", "Slow down", ""],
        ["error event", "usage_limit_reached", "limit", "Quota", ""],
      ],
    });
    assertEquals(out.problems, [
      "error event: rate_limit_exceeded: Slow down",
      "error event: limit: Quota",
      "no usage reported",
    ]);
    assertEquals(fieldMap(out.blocks).Status, "error");
  });

  await t.step("response.failed", () => {
    const out = renderStream(eventStream(
      { type: "response.created", response: { id: "resp_f", status: "in_progress", output: [] } },
      {
        type: "response.failed",
        response: {
          id: "resp_f",
          status: "failed",
          error: { code: "server_error", message: "boom" },
          output: [],
          usage: null,
        },
      },
    ));
    assertEquals(fieldMap(out.blocks).Status, "failed (server_error: boom)");
    assertEquals(table(section(out.blocks, "Errors")).rows, [
      ["response failed", "", "server_error", "boom", ""],
    ]);
    assertEquals(out.problems, ["response failed: server_error: boom", "no usage reported"]);
  });

  await t.step("response.incomplete with usage", () => {
    const out = renderStream(eventStream({
      type: "response.incomplete",
      response: {
        status: "incomplete",
        incomplete_details: { reason: "max_output_tokens" },
        output: [{ type: "message", content: [{ type: "output_text", text: "Half" }] }],
        usage: completedUsage,
      },
    }));
    assertEquals(fieldMap(out.blocks).Status, "incomplete (max_output_tokens)");
    assertEquals(out.problems, ["response incomplete (max_output_tokens)"]);
    assertEquals(out.usage, { input: 245, output: 89, total: 334 });
  });

  await t.step("non-JSON data lines are shown, not thrown", () => {
    const text = "event: response.created\ndata: not json\n\ndata: [DONE]\n\n" +
      eventStream({
        type: "response.completed",
        response: { status: "completed", output: [], usage: completedUsage },
      });
    const out = renderStream(text);
    assertEquals(codes(section(out.blocks, "Events without JSON data (2)")), [
      {
        text: "event: response.created\ndata: not json\n\nevent: message\ndata: [DONE]",
        lang: "text",
      },
    ]);
    assertEquals(out.problems, ["2 SSE event(s) with data that is not a JSON object"]);
  });

  await t.step("unknown event and item types are counted and shown raw", () => {
    const out = renderStream(eventStream(
      { type: "codex.rate_limits", primary: { used_percent: 12 } },
      { type: "response.output_item.done", output_index: 0, item: { type: "hologram", beam: 1 } },
      { type: "response.completed", response: { status: "completed", usage: completedUsage } },
    ));
    assertEquals(out.problems, []);
    assertEquals(table(section(out.blocks, "SSE events (3)")).rows, [
      ["codex.rate_limits", "1"],
      ["response.output_item.done", "1"],
      ["response.completed", "1"],
    ]);
    assertEquals(section(out.blocks, "Other output items"), [
      { kind: "fields", rows: [["Type", "hologram"]] },
      { kind: "code", text: '{\n  "type": "hologram",\n  "beam": 1\n}', lang: "json" },
    ]);
    const other = section(out.blocks, "Other events (first of each type)");
    assertEquals(other[0], { kind: "fields", rows: [["Event", "codex.rate_limits"]] });
    assertEquals(JSON.parse((other[1] as { text: string }).text).primary.used_percent, 12);
  });

  await t.step("empty event list", () => {
    const out = openaiResponses.renderResponse(view([]), entry);
    assertEquals(out.problems, [
      "stream truncated: no response.completed (last event: none)",
      "no usage reported",
    ]);
    assert(headings(out.blocks).includes("SSE events (0)"));
  });
});

Deno.test("openaiResponses renderResponse (JSON and text bodies)", async (t) => {
  await t.step("API error body", () => {
    const out = openaiResponses.renderResponse(
      jsonView({
        error: {
          message: "Rate limit reached",
          type: "requests",
          code: "rate_limit_exceeded",
          param: null,
        },
      }, 429),
      entry,
    );
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
  });

  await t.step("ChatGPT-style detail error", () => {
    const out = openaiResponses.renderResponse(jsonView({ detail: "Unauthorized" }, 401), entry);
    assertEquals(out.problems, ["API error 401: Unauthorized"]);
  });

  await t.step("response object body shares the final-response rendering", () => {
    const out = openaiResponses.renderResponse(
      jsonView({
        id: "resp_j",
        object: "response",
        status: "completed",
        model: "gpt-5",
        error: null,
        output: [
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hi" }] },
          { type: "function_call", name: "f", call_id: "c", arguments: "not json" },
        ],
        usage: completedUsage,
      }),
      entry,
    );
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Response", "resp_j"],
        ["Model", "gpt-5"],
        ["Status", "completed"],
        ["Usage", "245 input | 89 output | 334 total"],
      ],
    });
    assertEquals(codes(section(out.blocks, "Output text")), [{ text: "Hi", lang: "text" }]);
    assertEquals(codes(section(out.blocks, "Tool calls")), [{ text: "not json", lang: "text" }]);
    assertEquals(out.problems, []);
    assertEquals(out.usage, { input: 245, output: 89, total: 334 });
  });

  await t.step("compact reply {output:[...]} without usage", () => {
    const out = openaiResponses.renderResponse(
      jsonView({ output: [{ type: "compaction", encrypted_content: "e".repeat(5000) }] }),
      entry,
    );
    assertEquals(section(out.blocks, "Other output items")[1], {
      kind: "code",
      text: '{\n  "type": "compaction",\n  "encrypted_content": "eeeeeeeeee… (5000 chars)"\n}',
      lang: "json",
    });
    assertEquals(out.problems, []);
  });

  await t.step("other object, string, null and big string bodies", () => {
    assertEquals(openaiResponses.renderResponse(jsonView({ ok: true }), entry).blocks, [
      { kind: "code", text: '{\n  "ok": true\n}', lang: "json" },
    ]);
    assertEquals(openaiResponses.renderResponse(jsonView("Bad gateway", 502), entry).blocks, [
      { kind: "code", text: "Bad gateway", lang: "text" },
    ]);
    assertEquals(openaiResponses.renderResponse(jsonView(null), entry).blocks, [
      { kind: "paragraph", text: "(empty body)" },
    ]);
    const big = openaiResponses.renderResponse(jsonView("z".repeat(25_000)), entry).blocks;
    assertEquals(big[0], {
      kind: "paragraph",
      text: "Showing the first 20000 of 25000 characters.",
    });
    assertEquals((big[1] as { text: string }).text.length, 20_001);
    assertEquals(openaiResponses.renderResponse(jsonView([1, 2]), entry).blocks[0], {
      kind: "paragraph",
      text: "The body is an array, not a JSON object.",
    });
  });
});
