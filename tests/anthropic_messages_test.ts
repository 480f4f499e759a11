import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { RenderedBody } from "../lib/types.ts";
import { ConversationTracker, fullRequestBlocks } from "../lib/conversation.ts";
import { anthropicMessages, anthropicUsage } from "../renderers/anthropic_messages.ts";
import { excerpt } from "../renderers/text.ts";
import {
  codes,
  deltaStep,
  entryFor,
  eventStream,
  fieldMap,
  headings,
  jsonView,
  must,
  paragraphs,
  section,
  sseView,
  table,
} from "./tools/render_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const entry = entryFor("https://api.anthropic.com/v1/messages");

const REFERENCE_STREAM = await Deno.readTextFile(
  new URL("../testdata/anthropic_reference_stream.txt", import.meta.url),
);

function render(text: string): RenderedBody {
  return anthropicMessages.renderResponse(sseView(text), entry);
}

function renderJson(body: unknown, status = 200): RenderedBody {
  return anthropicMessages.renderResponse(jsonView(body, status), entry);
}

const start = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "message_start",
  message: {
    id: "msg_x",
    type: "message",
    role: "assistant",
    model: "claude-opus-4-1",
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage,
    ...extra,
  },
});
const blockStart = (index: number, content_block: Record<string, unknown>) => ({
  type: "content_block_start",
  index,
  content_block,
});
const delta = (index: number, d: Record<string, unknown>) => ({
  type: "content_block_delta",
  index,
  delta: d,
});
const blockStop = (index: number) => ({ type: "content_block_stop", index });
const messageDelta = (stop_reason: string | null, usage: Record<string, unknown>) => ({
  type: "message_delta",
  delta: { stop_reason, stop_sequence: null },
  usage,
});
const STOP = { type: "message_stop" };
const BASE_USAGE = {
  input_tokens: 10,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  output_tokens: 1,
};

// ---------------------------------------------------------------------------------------------

Deno.test("anthropicMessages renderRequest", async (t) => {
  assertEquals(anthropicMessages.id, "anthropic_messages");
  assertEquals(anthropicMessages.name, "Anthropic Messages API");

  const body = {
    model: "claude-sonnet-4-5",
    max_tokens: 32000,
    stream: true,
    thinking: { type: "enabled", budget_tokens: 10000 },
    tool_choice: { type: "tool", name: "Read" },
    temperature: 1,
    stop_sequences: ["###", "END"],
    metadata: { user_id: "user_abc_account_123_session_456" },
    system: [
      { type: "text", text: "x-anthropic-billing-header: cc_version=2.0" },
      {
        type: "text",
        text: "You are Claude Code.\nBe brief.",
        cache_control: { type: "ephemeral", ttl: "1h" },
      },
      { type: "text", text: "Env: linux", cache_control: { type: "ephemeral" } },
      { type: "image", source: { type: "url", url: "https://x.test/a.png" } },
    ],
    messages: [
      { role: "user", content: "fix the bug\nplease" },
      {
        role: "user",
        content: [
          { type: "text", text: "look", cache_control: { type: "ephemeral" } },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "aGVsbG8=" } },
          { type: "image", source: { type: "url", url: "https://x.test/b.png" } },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "Need to\nread it.", signature: "S".repeat(120) },
          { type: "text", text: "Reading." },
          { type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "/a.ts" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "1\tconst a = 1;" },
          {
            type: "tool_result",
            tool_use_id: "toolu_2",
            is_error: true,
            content: [{ type: "text", text: "No such file" }],
          },
        ],
      },
      { role: "assistant", content: [{ type: "redacted_thinking", data: "R".repeat(64) }] },
      { role: "system", content: "Reminder: be careful" },
      {
        role: "user",
        content: [
          {
            type: "document",
            title: "spec.pdf",
            source: { type: "base64", media_type: "application/pdf", data: "AAAA" },
          },
          { type: "container_upload", file_id: "file_1" },
        ],
      },
    ],
    tools: [
      {
        name: "Read",
        description: "Reads a file.\nUsage: ...",
        input_schema: {
          type: "object",
          properties: { file_path: { type: "string" }, offset: { type: "number" } },
          required: ["file_path"],
        },
      },
      { type: "web_search_20250305", name: "web_search", max_uses: 5 },
      {
        name: "Noop",
        description: "Nothing",
        input_schema: { type: "object", properties: {} },
        cache_control: { type: "ephemeral" },
      },
    ],
    context_management: { edits: [] },
  };
  const out = anthropicMessages.renderRequest(body, entry);

  await t.step("settings fields in order; metadata user_id as an identifier", () => {
    assertEquals(out.model, "claude-sonnet-4-5");
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Model", "claude-sonnet-4-5"],
        ["Max tokens", "32000"],
        ["Stream", "true"],
        ["Thinking", "type: enabled, budget_tokens: 10000"],
        ["Tool choice", "type: tool, name: Read"],
        ["Temperature", "1"],
        ["Stop sequences", "###, END"],
        ["User ID (metadata)", "user_abc_account_123_session_456"],
      ],
    });
  });

  await t.step("section order", () => {
    assertEquals(headings(out.blocks), [
      "System prompt",
      "Content blocks (13)",
      "Tools (3)",
      "Tool schemas",
      "Tool descriptions",
      "Other settings",
    ]);
  });

  await t.step("a description the table cuts is shown whole", () => {
    assertEquals(section(out.blocks, "Tool descriptions"), [
      { kind: "fields", rows: [["Tool", "Read"]] },
      { kind: "code", text: "Reads a file.\nUsage: ...", lang: "text" },
    ]);
  });

  await t.step("system blocks with their text and cache_control notes", () => {
    assertEquals(section(out.blocks, "System prompt"), [
      { kind: "paragraph", text: "Block 1 of 4: text, 42 characters" },
      { kind: "code", text: "x-anthropic-billing-header: cc_version=2.0", lang: "text" },
      { kind: "paragraph", text: "Block 2 of 4: text, 30 characters [cache: ephemeral 1h]" },
      { kind: "code", text: "You are Claude Code.\nBe brief.", lang: "text" },
      { kind: "paragraph", text: "Block 3 of 4: text, 10 characters [cache: ephemeral]" },
      { kind: "code", text: "Env: linux", lang: "text" },
      { kind: "paragraph", text: "Block 4 of 4: image" },
      {
        kind: "code",
        text: JSON.stringify(body.system[3], null, 2),
        lang: "json",
      },
    ]);
  });

  await t.step("messages table: one row per block, tool results labelled", () => {
    const t = table(section(out.blocks, "Content blocks (13)"));
    assertEquals(t.header, ["#", "Role", "Type", "Content"]);
    assertEquals(t.rows, [
      ["1", "user", "text", "fix the bug ⏎ please"],
      ["2.1", "user", "text", "look [cache: ephemeral]"],
      ["2.2", "user", "image", "[image: image/png, 5 bytes base64]"],
      ["2.3", "user", "image", "[image: https://x.test/b.png]"],
      ["3.1", "assistant", "thinking", "Need to ⏎ read it. [signature 120 chars]"],
      ["3.2", "assistant", "text", "Reading."],
      ["3.3", "assistant", "tool_use", 'Read({"file_path":"/a.ts"}) [toolu_1]'],
      ["4.1", "tool result", "tool_result", "toolu_1 → 1\tconst a = 1;"],
      ["4.2", "tool result", "tool_result", "toolu_2 → [error] No such file"],
      ["5", "assistant", "redacted_thinking", "[redacted thinking 64 chars]"],
      ["6", "system", "text", "Reminder: be careful"],
      ["7.1", "user", "document", "[document: spec.pdf, application/pdf, 3 bytes base64]"],
      ["7.2", "user", "container_upload", '{"file_id":"file_1"}'],
    ]);
  });

  await t.step("tools table and schemas", () => {
    const t = table(section(out.blocks, "Tools (3)"));
    assertEquals(t.header, ["Name", "Type", "Description", "Parameters"]);
    assertEquals(t.rows, [
      ["Read", "", "Reads a file. …", "file_path*, offset"],
      ["web_search", "web_search_20250305", "", '{"max_uses":5}'],
      ["Noop", "[cache: ephemeral]", "Nothing", "(none)"],
    ]);
    const schemas = JSON.parse(codes(section(out.blocks, "Tool schemas"))[0].text);
    assertEquals(Object.keys(schemas), ["Read", "Noop"]);
    assertEquals(schemas.Read.required, ["file_path"]);
  });

  await t.step("other settings keep only the rest", () => {
    const [c] = codes(section(out.blocks, "Other settings"));
    assertEquals(JSON.parse(c.text), { context_management: { edits: [] } });
  });

  await t.step("string system prompt, adaptive thinking, metadata with more keys", () => {
    const r = anthropicMessages.renderRequest({
      model: "m",
      system: "Be kind.",
      thinking: { type: "adaptive" },
      metadata: { user_id: "u1", other: 1 },
    }, entry);
    assertEquals(fieldMap(r.blocks), {
      Model: "m",
      Thinking: "type: adaptive",
      "User ID (metadata)": "u1",
      Length: "8 characters",
    });
    assertEquals(codes(section(r.blocks, "System prompt")), [{ text: "Be kind.", lang: "text" }]);
    assertEquals(JSON.parse(codes(section(r.blocks, "Other settings"))[0].text), {
      metadata: { user_id: "u1", other: 1 },
    });
  });
});

Deno.test("anthropicMessages renderRequest with wrong types", async (t) => {
  await t.step("non-object bodies never throw", () => {
    assertEquals(anthropicMessages.renderRequest(null, entry).blocks, [
      { kind: "paragraph", text: "(empty body)" },
    ]);
    assertEquals(anthropicMessages.renderRequest("not json {", entry).blocks, [
      { kind: "code", text: "not json {", lang: "text" },
    ]);
    assertEquals(anthropicMessages.renderRequest(7, entry).blocks, [
      { kind: "paragraph", text: "The body is a number, not a JSON object." },
      { kind: "code", text: "7", lang: "json" },
    ]);
    assertEquals(anthropicMessages.renderRequest([1], entry).blocks[0], {
      kind: "paragraph",
      text: "The body is an array, not a JSON object.",
    });
  });

  await t.step("sections of the wrong type are shown raw", () => {
    const r = anthropicMessages.renderRequest(
      { model: 5, system: 3, messages: { role: "user" }, tools: "none", thinking: null },
      entry,
    );
    assertEquals(fieldMap(r.blocks), { Model: "5", Thinking: "null" });
    assertEquals(section(r.blocks, "System prompt"), [
      { kind: "paragraph", text: "system is neither a string nor an array of blocks:" },
      { kind: "code", text: "3", lang: "json" },
    ]);
    assertEquals(codes(section(r.blocks, "Messages")), [
      { text: '{\n  "role": "user"\n}', lang: "json" },
    ]);
    assertEquals(codes(section(r.blocks, "Tools")), [{ text: '"none"', lang: "json" }]);
  });

  await t.step("odd messages, blocks and tools inside arrays", () => {
    const r = anthropicMessages.renderRequest(
      {
        messages: [
          null,
          "hi",
          { role: "user", content: 42 },
          { role: "user" },
          { role: "user", content: [] },
          { role: "user", content: { type: "text", text: "single" } },
          { role: "assistant", content: [5, null, { text: "no type" }], extra: true },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: 9, content: { weird: 1 } },
              { type: "image", source: "x" },
              { type: "thinking" },
            ],
          },
        ],
        tools: [3, { name: "f", input_schema: "oops" }],
      },
      entry,
    );
    assertEquals(table(section(r.blocks, "Content blocks (12)")).rows, [
      ["1", "", "object", "null"],
      ["2", "", "string", '"hi"'],
      ["3", "user", "(content: number)", "42"],
      ["4", "user", "(no content)", ""],
      ["5", "user", "(no blocks)", ""],
      ["6", "user", "text", "single"],
      ["7.1", "assistant", "number", "5"],
      ["7.2", "assistant", "object", "null"],
      ["7.3", "assistant", "(no type)", '{"text":"no type"} {"extra":true}'],
      ["8.1", "tool result", "tool_result", '? → {"weird":1}'],
      ["8.2", "user", "image", '[image: "x"]'],
      ["8.3", "user", "thinking", "(empty)"],
    ]);
    assertEquals(table(section(r.blocks, "Tools (2)")).rows, [
      ["?", "number", "", "3"],
      ["f", "", "", '"oops"'],
    ]);
  });
});

Deno.test("anthropicMessages requestParts for the per-turn view", async (t) => {
  const CACHE = { cache_control: { type: "ephemeral" } };
  const tools = [
    { name: "Read", description: "Reads.", input_schema: { type: "object", properties: {} } },
    { name: "Bash", description: "Runs.", input_schema: { type: "object", properties: {} } },
  ];
  const system = [
    { type: "text", text: "x-anthropic-billing-header: cc_version=2.0" },
    { type: "text", text: "You are Claude Code.", ...CACHE },
  ];
  const turn = (messages: unknown[]) => ({
    model: "claude-sonnet-4-5",
    max_tokens: 32000,
    stream: true,
    metadata: { user_id: "user_abc_account_1_session_2" },
    system,
    messages,
    tools,
  });
  const long = "x".repeat(300);
  // Claude Code puts the cache breakpoint on the newest message, turning string content into
  // a text block; the next request sends that message back as a plain string.
  const first = turn([{ role: "user", content: [{ type: "text", text: "fix it", ...CACHE }] }]);
  const second = turn([
    { role: "user", content: "fix it" },
    {
      role: "assistant",
      content: [
        { type: "thinking", thinking: "Look.", signature: "sig" },
        { type: "text", text: "y".repeat(300) },
        { type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "/a" } },
      ],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: long, ...CACHE }],
    },
  ]);
  const a = must(anthropicMessages.requestParts?.(first, entry));
  const b = must(anthropicMessages.requestParts?.(second, entry));
  const [aItems, bItems] = [must(a.items), must(b.items)];

  await t.step("fields, model, system text and tool fingerprints; no conversation key", () => {
    assertEquals(a.fields, [
      ["Model", "claude-sonnet-4-5"],
      ["Max tokens", "32000"],
      ["Stream", "true"],
      ["User ID (metadata)", "user_abc_account_1_session_2"],
    ]);
    assertEquals(a.model, "claude-sonnet-4-5");
    assertEquals(a.conversationKey, undefined);
    assertEquals(a.continues, undefined);
    assertEquals(must(a.system).title, "System prompt");
    assertEquals(
      must(a.system).text,
      "x-anthropic-billing-header: cc_version=2.0\n\nYou are Claude Code.",
    );
    assertEquals(must(a.tools).fingerprints, { Read: tools[0], Bash: tools[1] });
    assertEquals(a.extra, []);
  });

  await t.step("one item per content block; keys ignore moved cache breakpoints", () => {
    assertEquals(aItems.title, "Content blocks");
    assertEquals(bItems.keys.length, 5);
    assertEquals(bItems.keys.slice(0, 1), aItems.keys);
    assertEquals(new Set(bItems.keys).size, 5);
    assertEquals(bItems.keys.map((_, i) => bItems.row(i)), [
      ["1", "user", "text", "fix it"],
      ["2.1", "assistant", "thinking", "Look. [signature 3 chars]"],
      ["2.2", "assistant", "text", excerpt("y".repeat(300))],
      ["2.3", "assistant", "tool_use", 'Read({"file_path":"/a"}) [toolu_1]'],
      ["3", "tool result", "tool_result", `toolu_1 → ${"x".repeat(160)}… [cache: ephemeral]`],
    ]);
  });

  await t.step("full text of long user text and tool results, never of assistant blocks", () => {
    assertEquals(bItems.keys.map((_, i) => bItems.full(i)), [
      undefined,
      undefined,
      undefined,
      undefined,
      long,
    ]);
    const user = anthropicMessages.requestParts?.(turn([{ role: "user", content: long }]), entry);
    assertEquals(user?.items?.full(0), long);
    const blocks = anthropicMessages.requestParts?.(
      turn([{
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: "t",
          content: [{ type: "text", text: "a".repeat(100) }, {
            type: "text",
            text: "b".repeat(100),
          }],
        }],
      }]),
      entry,
    );
    assertEquals(blocks?.items?.full(0), `${"a".repeat(100)}\n\n${"b".repeat(100)}`);
  });

  await t.step("renderRequest is the complete view of the parts", () => {
    const parts = anthropicMessages.requestParts?.(second, entry);
    assert(parts);
    assertEquals(anthropicMessages.renderRequest(second, entry), {
      blocks: fullRequestBlocks(parts),
      model: "claude-sonnet-4-5",
    });
  });

  await t.step("the next request shows only its new blocks", () => {
    const tracker = new ConversationTracker();
    const c1 = tracker.assign(a, {}, "anthropic_messages");
    deltaStep(a, c1, 1);
    const c2 = tracker.assign(b, {}, "anthropic_messages");
    assertEquals(c2, c1);
    const out = deltaStep(b, c2, 2);
    assertEquals(headings(out), [
      "Content blocks: 4 new, 1 earlier item unchanged",
    ]);
    assertEquals(paragraphs(out), [
      "System prompt: unchanged since #1 (64 characters).",
      "Item 3 in full:",
      "Tools: 2 unchanged since #1.",
    ]);
    assertEquals(table(out).rows.map((r) => r[0]), ["2.1", "2.2", "2.3", "3"]);
  });

  await t.step("not a request of this format; sections of the wrong type", () => {
    assertEquals(anthropicMessages.requestParts?.("text", entry), undefined);
    const raw = anthropicMessages.requestParts?.({ messages: { role: "user" } }, entry);
    assertEquals(raw?.items, undefined);
    assertEquals(raw && headings(raw.extra), ["Messages"]);
  });
});

Deno.test("anthropicMessages renderResponse (SSE)", async (t) => {
  await t.step("reference stream: usage, thinking, tool input, stop reason, events", () => {
    const out = render(REFERENCE_STREAM);
    assertEquals(out.problems, []);
    assertEquals(out.usage, { input: 8012, output: 87, total: 8099, cached: 8000 });
    assertEquals(out.model, "claude-sonnet-4-5");
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Message ID", "msg_1"],
        ["Model", "claude-sonnet-4-5"],
        ["Stop reason", "tool_use"],
        ["Usage", "8012 input | 87 output | 8099 total | 8000 cached"],
      ],
    });
    assertEquals(section(out.blocks, "Thinking"), [
      { kind: "code", text: "Need to read a.ts.", lang: "text" },
      { kind: "paragraph", text: "[signature 7 chars]" },
    ]);
    assertEquals(section(out.blocks, "Tool calls"), [
      { kind: "fields", rows: [["Name", "Read"], ["ID", "toolu_1"], ["Type", "tool_use"]] },
      { kind: "code", text: '{\n  "file_path": "/src/a.ts"\n}', lang: "json" },
    ]);
    assertEquals(table(section(out.blocks, "SSE events (12)")), {
      header: ["Event type", "Count"],
      rows: [
        ["message_start", "1"],
        ["content_block_start", "2"],
        ["ping", "1"],
        ["content_block_delta", "4"],
        ["content_block_stop", "2"],
        ["message_delta", "1"],
        ["message_stop", "1"],
      ],
    });
    assertEquals(headings(out.blocks), ["Thinking", "Tool calls", "SSE events (12)"]);
  });

  await t.step("usage: message_delta counts replace (never add); nulls are ignored", () => {
    const out = render(eventStream(
      start({
        input_tokens: 10,
        cache_creation_input_tokens: 100,
        cache_read_input_tokens: 0,
        output_tokens: 1,
      }),
      messageDelta(null, { output_tokens: 5 }),
      messageDelta("end_turn", {
        output_tokens: 20,
        input_tokens: 12,
        cache_read_input_tokens: null,
        cache_creation_input_tokens: null,
      }),
      STOP,
    ));
    assertEquals(out.usage, { input: 112, output: 20, total: 132, cacheWrite: 100 });
    assertEquals(fieldMap(out.blocks).Usage, "112 input | 20 output | 132 total | 100 cache write");
    assertEquals(fieldMap(out.blocks)["Stop reason"], "end_turn");
  });

  await t.step("anthropicUsage on odd objects", () => {
    assertEquals(anthropicUsage(null), undefined);
    assertEquals(anthropicUsage({ cache_read_input_tokens: 5 }), undefined);
    assertEquals(anthropicUsage({ input_tokens: 3, cache_read_input_tokens: "x" }), {
      input: 3,
      output: 0,
      total: 3,
    });
  });

  await t.step("text deltas joined; stop sequence; max_tokens is a problem", () => {
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Hello" }),
      { type: "ping" },
      delta(0, { type: "text_delta", text: ", world" }),
      blockStop(0),
      {
        type: "message_delta",
        delta: { stop_reason: "max_tokens", stop_sequence: null },
        usage: { output_tokens: 9 },
      },
      STOP,
    ));
    assertEquals(codes(section(out.blocks, "Output text")), [
      { text: "Hello, world", lang: "text" },
    ]);
    assertEquals(out.problems, ["stop reason: max_tokens (output cut off)"]);
    assertEquals(out.usage, { input: 10, output: 9, total: 19 });

    const seq = render(eventStream(
      start(BASE_USAGE),
      {
        type: "message_delta",
        delta: { stop_reason: "stop_sequence", stop_sequence: "###" },
        usage: { output_tokens: 2 },
      },
      STOP,
    ));
    assertEquals(fieldMap(seq.blocks)["Stop reason"], 'stop_sequence ("###")');
    assertEquals(section(seq.blocks, "SSE events (3)").length, 1);
    assert(paragraphs(seq.blocks).includes("(no content blocks)"));
  });

  await t.step("two tool_use blocks with interleaved input deltas; empty input means {}", () => {
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(1, { type: "tool_use", id: "toolu_A", name: "Read", input: {} }),
      blockStart(2, { type: "tool_use", id: "toolu_B", name: "Bash", input: {} }),
      delta(2, { type: "input_json_delta", partial_json: '{"command":' }),
      delta(1, { type: "input_json_delta", partial_json: '{"file_path"' }),
      delta(2, { type: "input_json_delta", partial_json: '"ls -la"}' }),
      delta(1, { type: "input_json_delta", partial_json: ':"/b.ts"}' }),
      blockStop(2),
      blockStop(1),
      blockStart(3, { type: "tool_use", id: "toolu_C", name: "TodoRead", input: {} }),
      delta(3, { type: "input_json_delta", partial_json: "" }),
      blockStop(3),
      messageDelta("tool_use", { output_tokens: 30 }),
      STOP,
    ));
    assertEquals(out.problems, []);
    assertEquals(section(out.blocks, "Tool calls"), [
      { kind: "fields", rows: [["Name", "Read"], ["ID", "toolu_A"], ["Type", "tool_use"]] },
      { kind: "code", text: '{\n  "file_path": "/b.ts"\n}', lang: "json" },
      { kind: "fields", rows: [["Name", "Bash"], ["ID", "toolu_B"], ["Type", "tool_use"]] },
      { kind: "code", text: '{\n  "command": "ls -la"\n}', lang: "json" },
      { kind: "fields", rows: [["Name", "TodoRead"], ["ID", "toolu_C"], ["Type", "tool_use"]] },
      { kind: "code", text: "{}", lang: "json" },
    ]);
  });

  await t.step("invalid tool input JSON at block stop is shown raw with a problem", () => {
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "tool_use", id: "toolu_X", name: "Edit", input: {} }),
      delta(0, { type: "input_json_delta", partial_json: '{"a":' }),
      blockStop(0),
      messageDelta("tool_use", { output_tokens: 3 }),
      STOP,
    ));
    assertEquals(out.problems, ["tool_use toolu_X: input is not valid JSON"]);
    assertEquals(codes(section(out.blocks, "Tool calls")), [{ text: '{"a":', lang: "text" }]);
  });

  await t.step("truncated: no message_stop, partial blocks assembled", () => {
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Let me check" }),
      blockStop(0),
      blockStart(1, { type: "tool_use", id: "toolu_Z", name: "Grep", input: {} }),
      delta(1, { type: "input_json_delta", partial_json: '{"pattern":"fo' }),
    ));
    assertEquals(out.problems, [
      "stream truncated: no message_stop (last event: content_block_delta)",
    ]);
    assertEquals(out.usage, { input: 10, output: 1, total: 11 });
    assertEquals(section(out.blocks, "Tool calls"), [
      {
        kind: "fields",
        rows: [["Name", "Grep"], ["ID", "toolu_Z"], ["Type", "tool_use"], [
          "Status",
          "incomplete (assembled from deltas)",
        ]],
      },
      { kind: "code", text: '{"pattern":"fo', lang: "text" },
    ]);
    // The text block completed, so it carries no cut-off note.
    assertEquals(section(out.blocks, "Output text"), [
      { kind: "code", text: "Let me check", lang: "text" },
    ]);
    assertEquals(
      out.blocks[1],
      {
        kind: "paragraph",
        text: "The stream was cut off (no message_stop (last event: content_block_delta)). " +
          "Blocks that never completed were assembled from delta events.",
      },
    );
  });

  await t.step("cut off mid-event: last event shown raw", () => {
    const text = eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Half" }),
    ) + 'event: content_block_delta\ndata: {"type":"content_block_delta","ind';
    const out = render(text);
    assertEquals(out.problems, [
      "stream truncated: no message_stop (last event: content_block_delta, cut off mid-event)",
    ]);
    assertEquals(section(out.blocks, "Output text"), [
      { kind: "code", text: "Half", lang: "text" },
      { kind: "paragraph", text: "Cut off: assembled from delta events (never completed)." },
    ]);
    assertEquals(codes(section(out.blocks, "Last event (cut off)")), [
      { text: '{"type":"content_block_delta","ind', lang: "text" },
    ]);
  });

  await t.step("message_stop without the final blank line is complete", () => {
    // Servers and proxies often end right after the last event's line: a whole JSON event.
    assertEquals(render(REFERENCE_STREAM.trimEnd() + "\n").problems, []);
    assertEquals(render(REFERENCE_STREAM.trimEnd()).problems, []);
  });

  await t.step("a last event cut mid-value is a cut", () => {
    const cut = REFERENCE_STREAM.trimEnd().slice(0, -3);
    assertEquals(render(cut).problems, [
      "stream truncated: no message_stop (last event: message_stop, cut off mid-event)",
    ]);
  });

  await t.step("error event after HTTP 200, mid-message", () => {
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "text", text: "" }),
      delta(0, { type: "text_delta", text: "Work" }),
      { type: "error", error: { type: "overloaded_error", message: "Overloaded" } },
    ));
    assertEquals(out.problems, ["error event: overloaded_error: Overloaded"]);
    assertEquals(table(section(out.blocks, "Errors")), {
      header: ["Source", "Type", "Message"],
      rows: [["error event", "overloaded_error", "Overloaded"]],
    });
    assertEquals(headings(out.blocks), ["Errors", "Output text", "SSE events (4)"]);
    assertEquals(out.usage, { input: 10, output: 1, total: 11 });
  });

  await t.step("error-only stream", () => {
    const out = render(eventStream({
      type: "error",
      error: { type: "api_error", message: "Internal server error" },
    }));
    assertEquals(out.problems, [
      "error event: api_error: Internal server error",
      "no usage reported",
    ]);
    assertEquals(out.blocks[0], { kind: "heading", text: "Errors" });
    assertEquals(out.usage, undefined);
    assertEquals(out.model, undefined);
  });

  await t.step("redacted thinking, citations and unknown events/deltas are kept", () => {
    const citation = {
      type: "char_location",
      cited_text: "x",
      document_index: 0,
      start_char_index: 0,
      end_char_index: 1,
    };
    const out = render(eventStream(
      start(BASE_USAGE),
      blockStart(0, { type: "redacted_thinking", data: "Z".repeat(40) }),
      blockStop(0),
      blockStart(1, { type: "text", text: "" }),
      delta(1, { type: "text_delta", text: "Cited." }),
      delta(1, { type: "citations_delta", citation }),
      delta(1, { type: "hologram_delta", beam: 1 }),
      blockStop(1),
      blockStart(2, { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [] }),
      blockStop(2),
      { type: "brand_new_event", x: 1 },
      messageDelta("end_turn", { output_tokens: 4 }),
      STOP,
    ));
    assertEquals(out.problems, []);
    assertEquals(section(out.blocks, "Thinking"), [
      { kind: "paragraph", text: "[redacted thinking 40 chars]" },
    ]);
    assertEquals(JSON.parse(codes(section(out.blocks, "Citations (1)"))[0].text), [citation]);
    assertEquals(section(out.blocks, "Tool results")[0], {
      kind: "fields",
      rows: [["Type", "web_search_tool_result"], ["Tool use ID", "srvtoolu_1"]],
    });
    const other = section(out.blocks, "Other events (first of each type)");
    assertEquals(other.filter((b) => b.kind === "fields"), [
      { kind: "fields", rows: [["Event", "content_block_delta (hologram_delta)"]] },
      { kind: "fields", rows: [["Event", "brand_new_event"]] },
    ]);
  });

  await t.step("non-JSON data and an empty event list never throw", () => {
    const out = render("event: ping\ndata: not json\n\n" + eventStream(start(BASE_USAGE), STOP));
    assertEquals(out.problems, ["1 SSE event(s) with data that is not a JSON object"]);
    assertEquals(codes(section(out.blocks, "Events without JSON data (1)")), [
      { text: "event: ping\ndata: not json", lang: "text" },
    ]);
    const empty = anthropicMessages.renderResponse(
      { kind: "sse", status: 200, contentType: "text/event-stream", body: "", events: [] },
      entry,
    );
    assertEquals(empty.problems, [
      "stream truncated: no message_stop (last event: none)",
      "no usage reported",
    ]);
    const odd = render(eventStream(
      { type: "message_start", message: "x" },
      { type: "content_block_delta", index: "0", delta: 5 },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: 7 } },
      { type: "content_block_stop", index: 9 },
      { type: "message_delta", delta: [], usage: [] },
      STOP,
    ));
    assertEquals(odd.problems, ["no usage reported"]);
  });
});

Deno.test("anthropicMessages renderResponse (JSON and text bodies)", async (t) => {
  await t.step("a message body renders like the equivalent stream", () => {
    const json = renderJson({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [
        { type: "thinking", thinking: "Need to read a.ts.", signature: "EqQB..." },
        { type: "tool_use", id: "toolu_1", name: "Read", input: { file_path: "/src/a.ts" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: {
        input_tokens: 12,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 8000,
        output_tokens: 87,
      },
    });
    const streamed = render(REFERENCE_STREAM);
    assertEquals(json.blocks, streamed.blocks.slice(0, -2));
    assertEquals(json.usage, streamed.usage);
    assertEquals(json.problems, []);
  });

  await t.step("text, cache write and missing usage", () => {
    const out = renderJson({
      type: "message",
      content: [{ type: "text", text: "Hi" }, "stray"],
      usage: { input_tokens: 5, cache_creation_input_tokens: 50, output_tokens: 2 },
    });
    assertEquals(out.usage, { input: 55, output: 2, total: 57, cacheWrite: 50 });
    assertEquals(codes(section(out.blocks, "Output text")), [{ text: "Hi", lang: "text" }]);
    assertEquals(section(out.blocks, "Other content blocks")[0], {
      kind: "fields",
      rows: [["Type", "(not an object)"]],
    });
    assertEquals(renderJson({ type: "message", content: [] }).problems, ["no usage reported"]);
  });

  await t.step("error body: API error fields and problem", () => {
    const out = renderJson({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
      request_id: "req_011",
    }, 529);
    assertEquals(out.blocks, [
      { kind: "heading", text: "API error" },
      {
        kind: "fields",
        rows: [
          ["HTTP status", "529"],
          ["Type", "overloaded_error"],
          ["Message", "Overloaded"],
          ["Request ID", "req_011"],
        ],
      },
    ]);
    assertEquals(out.problems, ["API error 529: Overloaded"]);
    const extra = renderJson({ type: "error", error: { type: "x", message: "m", hint: 1 } }, 400);
    assertEquals(extra.blocks.length, 3);
    assertEquals(renderJson({ message: "Bad gateway" }, 502).problems, [
      "API error 502: Bad gateway",
    ]);
  });

  await t.step("other, string, null and array bodies", () => {
    assertEquals(renderJson({ ok: true }).blocks, [
      { kind: "code", text: '{\n  "ok": true\n}', lang: "json" },
    ]);
    assertEquals(renderJson("upstream connect error", 503).blocks, [
      { kind: "code", text: "upstream connect error", lang: "text" },
    ]);
    assertEquals(renderJson(null).blocks, [{ kind: "paragraph", text: "(empty body)" }]);
    assertEquals(renderJson([1, 2]).blocks[0], {
      kind: "paragraph",
      text: "The body is an array, not a JSON object.",
    });
    assertEquals(renderJson(12).blocks[0], {
      kind: "paragraph",
      text: "The body is a number, not a JSON object.",
    });
  });
});

Deno.test("anthropic usage: thinking, 1h cache writes, server tools, iterations", () => {
  const usage = anthropicUsage({
    input_tokens: 23000,
    cache_creation_input_tokens: 500,
    cache_read_input_tokens: 1000,
    cache_creation: { ephemeral_5m_input_tokens: 200, ephemeral_1h_input_tokens: 300 },
    output_tokens: 1000,
    output_tokens_details: { thinking_tokens: 400 },
    server_tool_use: { web_search_requests: 2, web_fetch_requests: 0 },
    iterations: [
      {
        type: "compaction",
        input_tokens: 180000,
        output_tokens: 3500,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
      {
        type: "advisor_message",
        model: "claude-opus-4-6",
        input_tokens: 900,
        output_tokens: 90,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 100,
      },
      {
        type: "message",
        input_tokens: 23000,
        output_tokens: 1000,
        cache_creation_input_tokens: 500,
        cache_read_input_tokens: 1000,
      },
    ],
  });
  assertEquals(usage, {
    input: 24500,
    output: 1000,
    total: 25500,
    cached: 1000,
    cacheWrite: 500,
    cacheWrite1h: 300,
    reasoning: 400,
    serverTools: { web_search_requests: 2 },
    subCalls: [
      { kind: "compaction", usage: { input: 180000, output: 3500, total: 183500 } },
      {
        kind: "advisor_message",
        model: "claude-opus-4-6",
        usage: { input: 1000, output: 90, total: 1090, cached: 100 },
      },
    ],
  });
});
