import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { RenderedBody } from "../lib/types.ts";
import {
  gemini,
  modelFromUrl,
  parseJsonArrayPrefix,
  usageFromMetadata,
} from "../renderers/gemini.ts";
import {
  codeTexts,
  entryFor,
  fieldMap,
  headings,
  jsonView,
  section,
  sseView,
  tableRows,
} from "./tools/render_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const devEntry = entryFor(
  "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
);
const caEntry = entryFor(
  "https://cloudcode-pa.googleapis.com/v1internal:streamGenerateContent?alt=sse",
);

/** SSE text with one `data:` line per object. */
function sseText(...objects: unknown[]): string {
  return objects.map((o) => `data: ${JSON.stringify(o)}\n\n`).join("");
}

function renderSse(text: string, entry = devEntry): RenderedBody {
  return gemini.renderResponse(sseView(text), entry);
}

function renderJson(body: unknown, status = 200, entry = devEntry): RenderedBody {
  return gemini.renderResponse(jsonView(body, status), entry);
}

const candidate = (parts: unknown[], extra: Record<string, unknown> = {}) => ({
  content: { role: "model", parts },
  index: 0,
  ...extra,
});

// The example of the reference (section 5), verbatim.
const REFERENCE = [
  'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Planning the edit","thought":true}]},"index":0}],"usageMetadata":{"promptTokenCount":5000,"totalTokenCount":5000},"modelVersion":"gemini-2.5-pro","responseId":"r1"}',
  'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"I\'ll read the file."}]},"index":0}],"modelVersion":"gemini-2.5-pro","responseId":"r1"}',
  'data: {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"read_file","args":{"absolute_path":"/src/a.ts"}},"thoughtSignature":"CiQB..."}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5000,"cachedContentTokenCount":4096,"candidatesTokenCount":30,"thoughtsTokenCount":120,"totalTokenCount":5150},"modelVersion":"gemini-2.5-pro","responseId":"r1"}',
].join("\n\n") + "\n\n";

// ---------------------------------------------------------------------------------------------

Deno.test("gemini renders the reference stream exactly", () => {
  assertEquals(renderSse(REFERENCE), {
    blocks: [
      {
        kind: "fields",
        rows: [
          ["Response ID", "r1"],
          ["Model version", "gemini-2.5-pro"],
          ["Finish reason", "STOP"],
          ["Usage", "5000 input | 150 output | 5150 total | 4096 cached | 120 reasoning"],
        ],
      },
      // In the order the model produced them: the thought came first.
      { kind: "heading", text: "Thoughts" },
      { kind: "code", text: "Planning the edit", lang: "text" },
      { kind: "heading", text: "Output text" },
      { kind: "code", text: "I'll read the file.", lang: "text" },
      { kind: "heading", text: "Function calls" },
      {
        kind: "fields",
        rows: [["Name", "read_file"], ["Thought signature", "[thoughtSignature 7 chars]"]],
      },
      { kind: "code", text: '{\n  "absolute_path": "/src/a.ts"\n}', lang: "json" },
      { kind: "heading", text: "SSE events (3)" },
      {
        kind: "table",
        header: ["Chunk content", "Count"],
        rows: [
          ["thought + usage", "1"],
          ["text", "1"],
          ["functionCall + finishReason + usage", "1"],
        ],
      },
    ],
    usage: { input: 5000, output: 150, total: 5150, cached: 4096, reasoning: 120 },
    problems: [],
    model: "gemini-2.5-pro",
    responseId: "r1",
    // The candidates reassembled (adjacent thought and text parts apart), for the GenAI spans.
    final: {
      candidates: [{
        index: 0,
        content: {
          role: "model",
          parts: [
            { text: "Planning the edit", thought: true },
            { text: "I'll read the file." },
            {
              functionCall: { name: "read_file", args: { absolute_path: "/src/a.ts" } },
              thoughtSignature: "CiQB...",
            },
          ],
        },
        finishReason: "STOP",
      }],
    },
  });
});

Deno.test("gemini stream assembly", async (t) => {
  await t.step("text is concatenated across chunks, never replaced", () => {
    const out = renderSse(sseText(
      { candidates: [candidate([{ text: "Hel" }])] },
      { candidates: [candidate([{ text: "lo, " }])] },
      { candidates: [candidate([{ text: "world" }], { finishReason: "STOP" })] },
      { candidates: [candidate([])], usageMetadata: { promptTokenCount: 3, totalTokenCount: 5 } },
    ));
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Hello, world"]);
    assertEquals(out.problems, []);
  });

  await t.step("thoughts and text are kept apart, each concatenated", () => {
    const out = renderSse(sseText(
      { candidates: [candidate([{ text: "Think ", thought: true }])] },
      { candidates: [candidate([{ text: "more", thought: true }, { text: "Answer" }])] },
      { candidates: [candidate([{ text: " done" }], { finishReason: "STOP" })] },
    ));
    assertEquals(codeTexts(section(out.blocks, "Thoughts")), ["Think more"]);
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Answer done"]);
  });

  await t.step("several function calls, with ids and no args", () => {
    const out = renderSse(sseText(
      {
        candidates: [candidate([
          { functionCall: { name: "ls", args: { dir: "." }, id: "call_1" } },
          { functionCall: { name: "pwd" } },
        ], { finishReason: "STOP" })],
        usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 2, totalTokenCount: 3 },
      },
    ));
    assertEquals(section(out.blocks, "Function calls"), [
      { kind: "fields", rows: [["Name", "ls"], ["ID", "call_1"]] },
      { kind: "code", text: '{\n  "dir": "."\n}', lang: "json" },
      { kind: "fields", rows: [["Name", "pwd"]] },
    ]);
  });

  await t.step("two candidates are labelled", () => {
    const out = renderSse(sseText({
      candidates: [
        { content: { parts: [{ text: "A" }] }, index: 0, finishReason: "STOP" },
        { content: { parts: [{ text: "B" }] }, index: 1, finishReason: "MAX_TOKENS" },
      ],
      usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 },
    }));
    assertEquals(
      fieldMap(out.blocks)["Finish reason"],
      "STOP (candidate 0), MAX_TOKENS (candidate 1)",
    );
    assertEquals(codeTexts(section(out.blocks, "Output text (candidate 1)")), ["B"]);
    assertEquals(out.problems, ["finish reason MAX_TOKENS (candidate 1)"]);
  });
});

Deno.test("gemini usage", async (t) => {
  await t.step("a running total in every chunk: the last one is used, never summed", () => {
    const out = renderSse(sseText(
      {
        candidates: [candidate([{ text: "a" }])],
        usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 1, totalTokenCount: 101 },
      },
      {
        candidates: [candidate([{ text: "b" }])],
        usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 2, totalTokenCount: 102 },
      },
      {
        candidates: [candidate([{ text: "c" }], { finishReason: "STOP" })],
        usageMetadata: { promptTokenCount: 100, candidatesTokenCount: 3, totalTokenCount: 103 },
      },
    ));
    assertEquals(out.usage, { input: 100, output: 3, total: 103 });
    assertEquals(fieldMap(out.blocks).Usage, "100 input | 3 output | 103 total");
  });

  await t.step("usage only in the last chunk", () => {
    const out = renderSse(sseText(
      { candidates: [candidate([{ text: "a" }])] },
      {
        candidates: [candidate([{ text: "b" }], { finishReason: "STOP" })],
        usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 2, totalTokenCount: 42 },
      },
    ));
    assertEquals(out.usage, { input: 40, output: 2, total: 42 });
    assertEquals(out.problems, []);
  });

  await t.step("total computed when missing; tool use prompt tokens as a field", () => {
    assertEquals(
      usageFromMetadata({
        promptTokenCount: 10,
        candidatesTokenCount: 5,
        thoughtsTokenCount: 7,
        toolUsePromptTokenCount: 3,
      }),
      // Tool-use prompt tokens are input: input + output = total.
      { input: 13, output: 12, total: 25, reasoning: 7, toolPrompt: 3 },
    );
    const out = renderJson({
      candidates: [candidate([{ text: "x" }], { finishReason: "STOP" })],
      usageMetadata: { promptTokenCount: 10, toolUsePromptTokenCount: 3, totalTokenCount: 13 },
    });
    assertEquals(fieldMap(out.blocks).Usage, "13 input | 0 output | 13 total | 3 tool prompt");
    assertEquals(out.usage, { input: 13, output: 0, total: 13, toolPrompt: 3 });
  });

  await t.step("no usage: a problem", () => {
    const out = renderSse(
      sseText({ candidates: [candidate([{ text: "a" }], { finishReason: "STOP" })] }),
    );
    assertEquals(out.usage, undefined);
    assertEquals(out.problems, ["no usage reported"]);
    assertEquals(usageFromMetadata({ foo: 1 }), undefined);
    assertEquals(usageFromMetadata("x"), undefined);
  });
});

Deno.test("gemini truncated streams", async (t) => {
  await t.step("no finishReason in any chunk", () => {
    const out = renderSse(sseText(
      {
        candidates: [candidate([{ text: "Part" }])],
        usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
      },
      { candidates: [candidate([{ text: "ial" }])] },
    ));
    assertEquals(out.problems, ["stream truncated: no finishReason (last chunk: text)"]);
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Partial"]);
    assert(
      out.blocks.some((b) =>
        b.kind === "paragraph" && b.text.startsWith("The stream was cut off (no finishReason")
      ),
    );
  });

  await t.step("the last event cut off mid-data", () => {
    const text = sseText({ candidates: [candidate([{ text: "Hi" }])] }) +
      'data: {"candidates":[{"content":{"parts":[{"text":" the';
    const out = renderSse(text);
    assertEquals(out.problems, [
      "stream truncated: no finishReason (last chunk: (not JSON), cut off mid-event)",
      "no usage reported",
    ]);
    assertEquals(codeTexts(section(out.blocks, "Last event (cut off)")), [
      '{"candidates":[{"content":{"parts":[{"text":" the',
    ]);
    assertEquals(tableRows(section(out.blocks, "SSE events (2)")), [
      ["text", "1"],
      ["(not JSON)", "1"],
    ]);
  });

  await t.step("a finishReason but the last event lacks its blank line", () => {
    const text = `data: ${
      JSON.stringify({
        candidates: [candidate([{ text: "Done" }], { finishReason: "STOP" })],
        usageMetadata: { promptTokenCount: 1, totalTokenCount: 2 },
      })
    }`;
    // A whole JSON chunk without the blank line after it is complete, not cut off.
    const out = renderSse(text);
    assertEquals(out.problems, []);
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Done"]);
    const cut = renderSse(text.slice(0, -2));
    assertEquals(cut.problems, [
      "stream truncated: no finishReason (last chunk: (not JSON), cut off mid-event)",
      "no usage reported",
    ]);
  });

  await t.step("an empty stream", () => {
    const out = renderSse("");
    assertEquals(out.problems, [
      "stream truncated: no finishReason (last chunk: none)",
      "no usage reported",
    ]);
  });

  await t.step("non-JSON data lines are shown raw", () => {
    const out = renderSse(
      sseText({ candidates: [candidate([{ text: "a" }], { finishReason: "STOP" })] }) +
        "data: [DONE]\n\n",
    );
    assertEquals(out.problems, ["no usage reported", "1 SSE event(s) with data that is not JSON"]);
    assertEquals(codeTexts(section(out.blocks, "Events without JSON data (1)")), [
      "event: message\ndata: [DONE]",
    ]);
  });
});

Deno.test("gemini Code Assist wrapper", async (t) => {
  await t.step("wrapped stream: unwrapped, traceId shown", () => {
    const text = sseText(
      {
        response: {
          candidates: [candidate([{ text: "Hello" }])],
          modelVersion: "gemini-2.5-flash",
          responseId: "ca1",
        },
        traceId: "t-123",
      },
      {
        response: {
          candidates: [candidate([{ text: " there" }], { finishReason: "STOP" })],
          usageMetadata: {
            promptTokenCount: 20,
            candidatesTokenCount: 2,
            totalTokenCount: 22,
          },
          modelVersion: "gemini-2.5-flash",
          responseId: "ca1",
        },
        traceId: "t-123",
        consumedCredits: 1,
      },
    );
    const out = renderSse(text, caEntry);
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Response ID", "ca1"],
        ["Model version", "gemini-2.5-flash"],
        ["Trace ID", "t-123"],
        ["Finish reason", "STOP"],
        ["Usage", "20 input | 2 output | 22 total"],
      ],
    });
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Hello there"]);
    assertEquals(codeTexts(section(out.blocks, "Other response fields")), [
      '{\n  "(wrapper) consumedCredits": 1\n}',
    ]);
    assertEquals(out.usage, { input: 20, output: 2, total: 22 });
    assertEquals([out.model, out.responseId], ["gemini-2.5-flash", "ca1"]);
    assertEquals(out.problems, []);
  });

  await t.step("wrapped request: wrapper fields, inner body", () => {
    const body = {
      model: "gemini-2.5-pro",
      project: "proj-42",
      user_prompt_id: "upid-7",
      request: {
        contents: [{ role: "user", parts: [{ text: "hello" }] }],
        systemInstruction: { role: "user", parts: [{ text: "You are Gemini CLI." }] },
        generationConfig: { temperature: 0, topP: 1 },
        session_id: "sess-1",
        safetySettings: [{ category: "HARM_CATEGORY_HARASSMENT", threshold: "OFF" }],
      },
    };
    const out = gemini.renderRequest(body, caEntry);
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["API", "Code Assist wrapper"],
        ["Model", "gemini-2.5-pro"],
        ["Project", "proj-42"],
        ["User prompt ID", "upid-7"],
        ["Session ID", "sess-1"],
        ["Generation config", "temperature: 0, topP: 1"],
      ],
    });
    assertEquals(codeTexts(section(out.blocks, "System instruction")), ["You are Gemini CLI."]);
    assertEquals(tableRows(section(out.blocks, "Content parts (1)")), [[
      "1",
      "user",
      "text",
      "hello",
    ]]);
    assertEquals(codeTexts(section(out.blocks, "Other settings")), [
      '{\n  "safetySettings": [\n    {\n      "category": "HARM_CATEGORY_HARASSMENT",\n' +
      '      "threshold": "OFF"\n    }\n  ]\n}',
    ]);
  });

  await t.step("wrapped JSON (generateContent) reply", () => {
    const out = renderJson(
      {
        response: {
          candidates: [candidate([{ text: '{"model":"flash"}' }], { finishReason: "STOP" })],
          usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
        },
        traceId: "t-9",
      },
      200,
      caEntry,
    );
    assertEquals(fieldMap(out.blocks)["Trace ID"], "t-9");
    assertEquals(codeTexts(section(out.blocks, "Output text")), ['{"model":"flash"}']);
    assertEquals(out.problems, []);
  });
});

Deno.test("gemini JSON responses", async (t) => {
  await t.step("a JSON array (non-SSE stream) is assembled like SSE", () => {
    const out = renderJson([
      { candidates: [candidate([{ text: "One " }])] },
      { candidates: [candidate([{ text: "two" }], { finishReason: "STOP" })] },
      {
        candidates: [candidate([])],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 },
      },
    ]);
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Finish reason", "STOP"],
        ["Usage", "4 input | 2 output | 6 total"],
        ["Chunks", "3 chunks (JSON array stream)"],
      ],
    });
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["One two"]);
    assertEquals(out.problems, []);
  });

  await t.step("a cut-off JSON array (text body): complete chunks kept, truncation flagged", () => {
    const text = JSON.stringify([{ candidates: [candidate([{ text: "Start" }])] }]).slice(0, -1) +
      ',\n{"candidates": [{"content": {"parts": [{"text": "mid';
    const out = renderJson(text);
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Start"]);
    assertEquals(out.problems, [
      "stream truncated: no finishReason (last chunk: text, array cut off)",
      "no usage reported",
    ]);
    assertEquals(codeTexts(section(out.blocks, "End of the body (cut off)")), [text]);
  });

  await t.step("parseJsonArrayPrefix", () => {
    assertEquals(parseJsonArrayPrefix('[{"a":"]}"},{"b":[1,2]}]'), {
      items: [{ a: "]}" }, { b: [1, 2] }],
      complete: true,
    });
    assertEquals(parseJsonArrayPrefix('[{"a":1}, {"b":'), { items: [{ a: 1 }], complete: false });
    assertEquals(parseJsonArrayPrefix("[]"), { items: [], complete: true });
    assertEquals(parseJsonArrayPrefix('{"a":1}'), undefined);
  });

  await t.step("a single response object with function call and usage", () => {
    const out = renderJson({
      candidates: [candidate([{ functionCall: { name: "glob", args: { pattern: "*.ts" } } }], {
        finishReason: "STOP",
      })],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
      modelVersion: "gemini-2.5-flash-lite",
    });
    assertEquals(headings(out.blocks), ["Function calls"]);
    assertEquals(out.usage, { input: 10, output: 5, total: 15 });
    assertEquals(out.problems, []);
  });

  await t.step("a blocked prompt", () => {
    const out = renderJson({
      promptFeedback: { blockReason: "SAFETY", safetyRatings: [] },
      usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
    });
    assertEquals(section(out.blocks, "Prompt feedback").slice(0, 1), [
      { kind: "fields", rows: [["Block reason", "SAFETY"]] },
    ]);
    assertEquals(out.problems, ["prompt blocked: SAFETY"]);
  });

  await t.step("a candidate stopped for safety shows its ratings", () => {
    const out = renderJson({
      candidates: [{
        index: 0,
        finishReason: "SAFETY",
        safetyRatings: [
          { category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true },
          { category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" },
        ],
      }],
      usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
    });
    assertEquals(tableRows(section(out.blocks, "Safety ratings")), [
      ["HARM_CATEGORY_DANGEROUS_CONTENT", "HIGH", "yes"],
      ["HARM_CATEGORY_HARASSMENT", "NEGLIGIBLE", ""],
    ]);
    assertEquals(out.problems, ["finish reason SAFETY"]);
  });
});

Deno.test("gemini error bodies", async (t) => {
  const error = {
    error: { code: 429, message: "Quota exceeded.", status: "RESOURCE_EXHAUSTED" },
  };

  await t.step("object form", () => {
    assertEquals(renderJson(error, 429), {
      blocks: [
        { kind: "heading", text: "API error" },
        {
          kind: "fields",
          rows: [
            ["HTTP status", "429"],
            ["Code", "429"],
            ["Status", "RESOURCE_EXHAUSTED"],
            ["Message", "Quota exceeded."],
          ],
        },
      ],
      problems: ["API error 429: RESOURCE_EXHAUSTED: Quota exceeded."],
    });
  });

  await t.step("array form, with details kept", () => {
    const withDetails = {
      error: { ...error.error, details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo" }] },
    };
    const out = renderJson([withDetails], 429);
    assertEquals(out.problems, ["API error 429: RESOURCE_EXHAUSTED: Quota exceeded."]);
    assertEquals(headings(out.blocks), ["API error"]);
    assertEquals(JSON.parse(codeTexts(out.blocks)[0]), withDetails);
  });

  await t.step("an error chunk inside a stream", () => {
    const out = renderSse(sseText(
      { candidates: [candidate([{ text: "Hi" }])] },
      { error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } },
    ));
    assertEquals(tableRows(section(out.blocks, "Errors")), [
      ["error chunk", "503", "UNAVAILABLE", "The model is overloaded."],
    ]);
    assertEquals(out.problems, [
      "error chunk: 503 UNAVAILABLE: The model is overloaded.",
      "stream truncated: no finishReason (last chunk: error)",
      "no usage reported",
    ]);
  });

  await t.step("a non-JSON error body", () => {
    const out = renderJson("<html>Bad Gateway</html>", 502);
    assertEquals(out.blocks, [{ kind: "code", text: "<html>Bad Gateway</html>", lang: "text" }]);
    assertEquals(out.problems, ["HTTP 502 with a body that is not a JSON error"]);
  });
});

Deno.test("gemini request", async (t) => {
  const body = {
    contents: [
      { role: "user", parts: [{ text: "List the files" }] },
      {
        role: "model",
        parts: [
          { text: "I should list.", thought: true },
          {
            functionCall: { name: "list_directory", args: { path: "/src" }, id: "fc-1" },
            thoughtSignature: "c2lnbmF0dXJl",
          },
        ],
      },
      {
        role: "user",
        parts: [{
          functionResponse: {
            name: "list_directory",
            id: "fc-1",
            response: { output: "a.ts\nb.ts" },
          },
        }],
      },
      {
        role: "user",
        parts: [
          { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
          { fileData: { mimeType: "application/pdf", fileUri: "gs://b/doc.pdf" } },
          { thoughtSignature: "abc" },
          { videoMetadata: { fps: 1 } },
          { text: "look", partMetadata: { k: 1 } },
        ],
      },
    ],
    systemInstruction: { parts: [{ text: "Line one" }, { text: "Line two" }] },
    tools: [
      {
        functionDeclarations: [
          {
            name: "list_directory",
            description: "Lists a directory.\nMore detail.",
            parametersJsonSchema: {
              type: "object",
              properties: { path: { type: "string" }, ignore: { type: "array" } },
              required: ["path"],
            },
          },
          { name: "noop", description: "Does nothing", parameters: { type: "OBJECT" } },
        ],
      },
      { googleSearch: {} },
      { codeExecution: {} },
    ],
    toolConfig: { functionCallingConfig: { mode: "AUTO" } },
    generationConfig: {
      temperature: 0.7,
      topK: 64,
      maxOutputTokens: 8192,
      responseMimeType: "application/json",
      thinkingConfig: { includeThoughts: true, thinkingBudget: -1 },
      responseJsonSchema: { type: "object" },
    },
    cachedContent: "cachedContents/abc",
    labels: { team: "x" },
  };

  await t.step("fields, model from the URL", () => {
    const out = gemini.renderRequest(body, devEntry);
    assertEquals(out.blocks[0], {
      kind: "fields",
      rows: [
        ["Model", "gemini-2.5-pro"],
        [
          "Generation config",
          'temperature: 0.7, topK: 64, maxOutputTokens: 8192, responseMimeType: application/json, thinkingConfig: {"includeThoughts":true,"thinkingBudget":-1}',
        ],
        ["Tool config", 'functionCallingConfig: {"mode":"AUTO"}'],
        ["Cached content", "cachedContents/abc"],
      ],
    });
    assertEquals(codeTexts(section(out.blocks, "Response schema (responseJsonSchema)")), [
      '{\n  "type": "object"\n}',
    ]);
    assertEquals(codeTexts(section(out.blocks, "Other settings")), [
      '{\n  "labels": {\n    "team": "x"\n  }\n}',
    ]);
  });

  await t.step("system instruction parts joined", () => {
    const out = gemini.renderRequest(body, devEntry);
    assertEquals(section(out.blocks, "System instruction"), [
      { kind: "fields", rows: [["Length", "18 characters"]] },
      { kind: "code", text: "Line one\n\nLine two", lang: "text" },
    ]);
  });

  await t.step("contents table: one row per part", () => {
    const out = gemini.renderRequest(body, devEntry);
    assertEquals(tableRows(section(out.blocks, "Content parts (9)")), [
      ["1", "user", "text", "List the files"],
      ["2.1", "model", "thought", "I should list."],
      [
        "2.2",
        "model",
        "functionCall",
        'list_directory({"path":"/src"}) [fc-1] [thoughtSignature 12 chars]',
      ],
      ["3", "tool result", "functionResponse", "list_directory → a.ts ⏎ b.ts [fc-1]"],
      ["4.1", "user", "inlineData", "[inlineData image/png, 8 bytes]"],
      ["4.2", "user", "fileData", "[fileData application/pdf, gs://b/doc.pdf]"],
      ["4.3", "user", "thoughtSignature", "[thoughtSignature 3 chars]"],
      ["4.4", "user", "videoMetadata", '{"videoMetadata":{"fps":1}}'],
      ["4.5", "user", "text", 'look {"partMetadata":{"k":1}}'],
    ]);
  });

  await t.step("tools table and schemas", () => {
    const out = gemini.renderRequest(body, devEntry);
    assertEquals(tableRows(section(out.blocks, "Tools (4)")), [
      ["list_directory", "function", "Lists a directory. …", "path*, ignore"],
      ["noop", "function", "Does nothing", "(none)"],
      ["googleSearch", "built-in", "", ""],
      ["codeExecution", "built-in", "", ""],
    ]);
    const schemas = JSON.parse(codeTexts(section(out.blocks, "Tool schemas"))[0]);
    assertEquals(Object.keys(schemas), ["list_directory", "noop"]);
  });

  await t.step("a functionResponse with a structured response", () => {
    const out = gemini.renderRequest({
      contents: [{
        role: "user",
        parts: [{ functionResponse: { name: "f", response: { ok: true, n: 2 } } }],
      }],
    }, entryFor("http://x/v1beta/models/m:generateContent"));
    assertEquals(fieldMap(out.blocks).Model, "m");
    assertEquals(tableRows(out.blocks), [
      ["1", "tool result", "functionResponse", 'f → {"ok":true,"n":2}'],
    ]);
  });

  await t.step("modelFromUrl", () => {
    assertEquals(
      modelFromUrl("https://h/v1beta/models/gemini-2.5-flash:generateContent"),
      "gemini-2.5-flash",
    );
    assertEquals(
      modelFromUrl(
        "https://h/v1/projects/p/locations/l/publishers/google/models/gemini-pro:streamGenerateContent?alt=sse",
      ),
      "gemini-pro",
    );
    assertEquals(modelFromUrl("https://h/v1internal:generateContent"), undefined);
    assertEquals(modelFromUrl(42), undefined);
  });
});

Deno.test("gemini never throws on wrong types", async (t) => {
  await t.step("request bodies that are not objects", () => {
    assertEquals(gemini.renderRequest(null, devEntry).blocks, [
      { kind: "paragraph", text: "(empty body)" },
    ]);
    assertEquals(gemini.renderRequest("raw text", devEntry).blocks, [
      { kind: "code", text: "raw text", lang: "text" },
    ]);
    assertEquals(gemini.renderRequest(7, devEntry).blocks[0], {
      kind: "paragraph",
      text: "The body is a number, not a JSON object.",
    });
    assertEquals(gemini.renderRequest([1], devEntry).blocks[0], {
      kind: "paragraph",
      text: "The body is an array, not a JSON object.",
    });
  });

  await t.step("contents, parts and tools of the wrong type", () => {
    const out = gemini.renderRequest({
      contents: "hello",
      tools: { functionDeclarations: [] },
      systemInstruction: 5,
    }, devEntry);
    assertEquals(headings(out.blocks), ["System instruction", "Contents", "Tools"]);
    const rows = tableRows(
      gemini.renderRequest({
        contents: [
          null,
          "text",
          { role: "user", parts: "not an array" },
          { role: "user", parts: [null, 3, { text: 42 }, { functionCall: "x" }] },
          { role: 7, parts: [] },
        ],
        tools: [null, { functionDeclarations: [null, { name: 1 }] }],
      }, devEntry).blocks,
    );
    assertEquals(rows, [
      ["1", "", "(object)", "null"],
      ["2", "", "(string)", '"text"'],
      ["3", "user", "(no parts array)", '{"parts":"not an array"}'],
      ["4.1", "user", "(object)", "null"],
      ["4.2", "user", "(number)", "3"],
      ["4.3", "user", "text", "42"],
      ["4.4", "user", "functionCall", '"x"'],
      ["5", "7", "(no parts)", ""],
    ]);
  });

  await t.step("response bodies and chunks of the wrong type", () => {
    assertEquals(renderJson(null).blocks, [{ kind: "paragraph", text: "(empty body)" }]);
    assertEquals(renderJson(12).problems, undefined);
    const out = renderJson({ candidates: "nope", usageMetadata: [] });
    assertEquals(out.problems, ["no usage reported"]);
    const weird = renderSse(sseText(
      "a string",
      [1, 2],
      { candidates: [null, { content: "text", finishReason: "STOP" }] },
      { candidates: [{ content: { parts: { text: "x" } }, index: 1 }] },
    ));
    assert(weird.problems?.includes("no usage reported"));
    assertEquals(
      tableRows(section(weird.blocks, "SSE events (4)")).map((r) => r[0]),
      ["(string)", "(array)", "finishReason", "(no parts)"],
    );
    assertEquals(
      headings(weird.blocks).filter((h) => h.startsWith("Unrecognised")),
      ["Unrecognised chunks (3)"],
    );
    assertEquals(
      gemini.renderResponse(
        {
          kind: "sse",
          status: 200,
          contentType: "",
          body: null,
          events: [{ type: "message" } as never],
        },
        devEntry,
      ).problems?.[0],
      "stream truncated: no finishReason (last chunk: (not JSON))",
    );
  });
});

Deno.test("gemini thoughtSignature on text parts", async (t) => {
  await t.step("does not split the text and is listed once", () => {
    const out = renderSse(sseText(
      { candidates: [candidate([{ text: "Hel", thoughtSignature: "sig-one" }])] },
      { candidates: [candidate([{ text: "lo", partMetadata: { k: 1 } }])] },
      { candidates: [candidate([{ text: "!" }])] },
      {
        candidates: [
          candidate([{ text: "", thoughtSignature: "sig-2" }], { finishReason: "STOP" }),
        ],
        usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 },
      },
    ));
    assertEquals(codeTexts(section(out.blocks, "Output text")), ["Hello!"]);
    assertEquals(
      fieldMap(out.blocks)["Thought signatures"],
      "[thoughtSignature 7 chars], [thoughtSignature 5 chars]",
    );
    assertEquals(section(out.blocks, "Other parts"), [
      { kind: "list", items: ['text: {"partMetadata":{"k":1}}'] },
    ]);
    assertEquals(out.problems, []);
  });
});

Deno.test("gemini requestParts for the per-turn view", async (t) => {
  const turn = (contents: unknown[]) => ({
    model: "gemini-2.5-pro",
    project: "p",
    user_prompt_id: "u",
    request: {
      contents,
      systemInstruction: { parts: [{ text: "sys" }] },
      tools: [{ functionDeclarations: [{ name: "ls" }, { name: "cat" }] }, { googleSearch: {} }],
      session_id: "sess-9",
    },
  });
  const first = [{ role: "user", parts: [{ text: "hi" }] }];
  const second = [
    ...first,
    { role: "model", parts: [{ text: "hello" }] },
    { role: "user", parts: [{ text: "x".repeat(300) }] },
  ];

  await t.step("model, conversation key, system, tools and keys per part", () => {
    const a = gemini.requestParts?.(turn(first), caEntry);
    const b = gemini.requestParts?.(turn(second), caEntry);
    assert(a && b && a.items && b.items && a.tools && a.system);
    assertEquals(a.model, "gemini-2.5-pro");
    assertEquals(a.conversationKey, "sess-9");
    assertEquals(a.system.text, "sys");
    assertEquals(Object.keys(a.tools.fingerprints), ["ls", "cat", "googleSearch"]);
    assertEquals(a.items.title, "Content parts");
    assertEquals(b.items.keys.slice(0, 1), a.items.keys);
    assertEquals(new Set(b.items.keys).size, 3);
    assertEquals([0, 1, 2].map((i) => b.items!.full(i)), [undefined, undefined, "x".repeat(300)]);
  });

  await t.step("model from the URL; not a request of this format", () => {
    const parts = gemini.requestParts?.({ contents: [] }, devEntry);
    assertEquals(parts?.model, "gemini-2.5-pro");
    assertEquals(gemini.renderRequest({ contents: [] }, devEntry).model, "gemini-2.5-pro");
    assertEquals(gemini.requestParts?.("text", devEntry), undefined);
    const raw = gemini.requestParts?.({ contents: 5 }, devEntry);
    assertEquals(raw?.items, undefined);
    assertEquals(raw && headings(raw.extra), ["Contents"]);
  });
});

Deno.test("gemini JSON array cut off before its first chunk ends", () => {
  const out = renderJson('[{"candidates":[{"content":{"parts":[{"text":"cut');
  assertEquals(out.problems, [
    "stream truncated: no finishReason (last chunk: none, array cut off)",
    "no usage reported",
  ]);
  assertEquals(fieldMap(out.blocks).Chunks, "0 chunks (JSON array stream)");
});
