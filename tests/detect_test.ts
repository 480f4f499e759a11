/**
 * Detection: each renderer recognises its own API and lib/ only asks the registry it is handed.
 * A toy API defined here, and nowhere in lib/ or renderers/, is detected and rendered by
 * `probe analyze`'s pipeline like a built-in one.
 */
import assert from "node:assert/strict";
import { analyzeFile } from "../lib/analyze.ts";
import { Confidence, detectRenderer } from "../lib/detect.ts";
import type { Entry, Renderer } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { codex } from "../targets/codex.ts";

/** A made-up API: `POST /toy/say` with `{"say": "..."}`, answered by `{"heard": "..."}`. */
const toy: Renderer = {
  id: "toy_api",
  name: "Toy API",
  detect: (req) =>
    req.method === "POST" && req.path.endsWith("/toy/say") ? Confidence.endpoint : Confidence.none,
  renderRequest: (body) => ({
    blocks: [{ kind: "paragraph", text: `Toy request says ${(body as { say: string }).say}` }],
    model: "toy-1",
  }),
  renderResponse: (view) => ({
    blocks: [{
      kind: "paragraph",
      text: `Toy response heard ${(view.body as { heard: string }).heard}`,
    }],
    usage: { input: 3, output: 4, total: 7 },
    model: "toy-1",
  }),
};

function entry(method: string, url: string, body: unknown, headers = {}): Entry {
  return {
    timestamp: 1700000000,
    request: { method, url, headers, body },
    response: { status_code: 200, headers: { "content-type": "application/json" }, body: {} },
  };
}

const detected = (e: Entry, renderers: Iterable<Renderer> = builtinRenderers.values()) =>
  detectRenderer(renderers, e)?.id;

Deno.test("detectRenderer asks each renderer and takes the surest", async (t) => {
  await t.step("endpoints", () => {
    const cases: [string, string, string][] = [
      ["POST", "https://h/v1/responses", "openai_responses"],
      ["POST", "https://h/v1/responses/compact", "openai_responses"],
      ["POST", "https://h/v1/chat/completions?x=1", "openai_chat"],
      ["POST", "https://h/v1/messages?beta=true", "anthropic_messages"],
      ["POST", "https://h/v1beta/models/g:streamGenerateContent?alt=sse", "gemini"],
      ["POST", "https://h/v1internal:generateContent", "gemini"],
      ["POST", "https://h/v1/messages/count_tokens", "generic"],
      [
        "POST",
        "https://h/v1/projects/p/locations/l/publishers/anthropic/models/claude:streamRawPredict",
        "anthropic_messages",
      ],
      ["GET", "https://h/v1/models", "generic"],
      ["HEAD", "https://h/", "generic"],
    ];
    for (const [method, url, id] of cases) {
      assert.equal(detected(entry(method, url, { messages: [] })), id, `${method} ${url}`);
    }
  });

  await t.step("a WebSocket upgrade of …/responses is the Responses API", () => {
    const ws = entry("GET", "https://h/v1/responses", null, { Upgrade: "websocket" });
    assert.equal(detected(ws), "openai_responses");
    assert.equal(detected(entry("GET", "https://h/v1/responses", null)), "generic");
  });

  await t.step("body shapes on an unknown path", () => {
    const at = (body: unknown, headers = {}) =>
      detected(entry("POST", "https://gw/x", body, headers));
    assert.equal(at({ contents: [] }), "gemini");
    assert.equal(at({ request: { contents: [] } }), "gemini");
    assert.equal(at({ input: "hi" }), "openai_responses");
    assert.equal(at({ instructions: "be brief", messages: [] }), "openai_responses");
    assert.equal(at({ messages: [] }), "openai_chat");
    assert.equal(at({ messages: [], max_tokens: 5, system: "s" }), "anthropic_messages");
    assert.equal(
      at({ messages: [], anthropic_version: "vertex-2023-10-16" }),
      "anthropic_messages",
    );
    assert.equal(at({ messages: [] }, { "anthropic-version": "2023-06-01" }), "anthropic_messages");
    const toolUse = { messages: [{ role: "assistant", content: [{ type: "tool_use" }] }] };
    assert.equal(at(toolUse), "anthropic_messages");
    // The most specific shape wins whatever the registry's order.
    assert.equal(at({ contents: [], input: "x", messages: [] }), "gemini");
    assert.equal(at({ input: "x", messages: [], max_tokens: 1, system: "" }), "openai_responses");
    assert.equal(at({ model: "m" }), "generic");
    assert.equal(at("text"), "generic");
  });

  await t.step("a registry without a claimant gives undefined", () => {
    assert.equal(detected(entry("GET", "https://h/", null), [toy]), undefined);
    assert.equal(detected(entry("POST", "https://h/toy/say", {}), [toy]), "toy_api");
  });
});

Deno.test("a renderer defined only in a test is detected and rendered by analyze", async () => {
  await using dir = await tempDir();
  const input = `${dir.path}/capture.jsonl`;
  const lines = [
    entry("POST", "https://toy.example/v2/toy/say", { say: "ahoy" }),
    entry("POST", "https://api.openai.com/v1/chat/completions", {
      model: "gpt-x",
      messages: [{ role: "user", content: "hello" }],
    }),
  ];
  (lines[0].response!.body as Record<string, unknown>).heard = "ahoy back";
  await Deno.writeTextFile(input, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
  const renderers = new Map([...builtinRenderers, [toy.id, toy]]);
  const output = `${dir.path}/report.md`;
  const prices = builtinPriceTable();
  await analyzeFile({ input, output, target: codex, renderers, prices, warn: () => {} });
  const report = await Deno.readTextFile(output);
  assert.match(report, /\*\*Renderer:\*\* Toy API \(toy_api\)/);
  assert.match(report, /Toy request says ahoy/);
  assert.match(report, /Toy response heard ahoy back/);
  assert.match(report, /\*\*Renderer:\*\* OpenAI Chat Completions API \(openai_chat\)/);
  // Its usage counts like any model's.
  assert.match(report, /\| toy-1 \| 1 \| 1 \| 3 \|/);
});

async function tempDir() {
  const path = await Deno.makeTempDir({ prefix: "probe-detect-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}
