import assert from "node:assert/strict";
import { claudeCode } from "../targets/claude_code.ts";
import { deltaStep } from "./tools/render_helpers.ts";
import {
  ConversationTracker,
  deltaBlocks,
  fullRequestBlocks,
  lineDiff,
  requestDelta,
  sameJson,
} from "../lib/conversation.ts";
import { toolsPart } from "../renderers/tools.ts";
import { hashNumber, hashText, itemKey } from "../lib/text_hash.ts";
import { analyzeFile } from "../lib/analyze.ts";
import type { Block, RequestParts } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { writeCapture } from "../bench/generate.ts";
import { MIN_REFERRED, ShownBefore } from "../lib/shown_before.ts";
import { blocksToHtml, htmlWriter } from "../lib/html.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

function parts(items: string[], over: Partial<RequestParts> = {}): RequestParts {
  return {
    fields: [["Model", "m"]],
    items: {
      title: "Input items",
      header: ["#", "Content"],
      keys: items.map(hashText),
      row: (i) => [String(i + 1), items[i]],
      full: () => undefined,
    },
    extra: [],
    ...over,
  };
}

/** An object with keys k0..k(n-1), parsed from JSON; `swap` exchanges two keys' places. */
function wide(n: number, swap?: [number, number]): Record<string, unknown> {
  const keys = Array.from({ length: n }, (_, i) => i);
  if (swap) [keys[swap[0]], keys[swap[1]]] = [keys[swap[1]], keys[swap[0]]];
  return JSON.parse(`{${keys.map((i) => `"k${i}":${i}`).join(",")}}`);
}

Deno.test("sameJson is JSON equality of parsed values", async (t) => {
  const cases: [string, unknown, unknown, boolean][] = [
    ["equal strings", "a", "a", true],
    ["a number and its text", 1, "1", false],
    ["null and an empty object", null, {}, false],
    ["an array and an object with index keys", ["x"], { 0: "x" }, false],
    ["arrays of different length", [1, 2], [1], false],
    ["nested equal values, separately parsed", JSON.parse('{"a":[{"b":"c"}],"d":null}'), {
      a: [{ b: "c" }],
      d: null,
    }, true],
    // As the JSON text (itemKey), which idle conversations compare by its hash.
    ["key order counts", { a: 1, b: 2 }, { b: 2, a: 1 }, false],
    ["a missing key", { a: 1, b: 2 }, { a: 1 }, false],
    ["an extra key", { a: 1 }, { a: 1, b: 2 }, false],
    ["a changed deep string", { m: [{ t: "hello" }] }, { m: [{ t: "hellO" }] }, false],
    // Objects past 8 keys take another path (their keys as an array).
    ["20 keys, equal", wide(20), wide(20), true],
    ["20 keys, the last two swapped", wide(20), wide(20, [18, 19]), false],
    ["20 keys, the first two swapped", wide(20), wide(20, [0, 1]), false],
    ["8 and 9 keys", wide(8), wide(9), false],
    ["9 keys, a value changed", wide(9), { ...wide(9), k8: "changed" }, false],
  ];
  for (const [name, a, b, same] of cases) {
    await t.step(name, () => {
      assert.equal(sameJson(a, b), same);
      assert.equal(sameJson(b, a), same);
      assert.equal(itemKey(a) === itemKey(b), same, "agrees with the JSON text");
    });
  }
});

function texts(blocks: Block[]): string[] {
  return blocks.map((b) => {
    switch (b.kind) {
      case "heading":
      case "paragraph":
        return b.text;
      case "table":
        return b.rows.map((r) => r.join("|")).join("\n");
      case "code":
        return b.text;
      case "fields":
        return b.rows.map((r) => r.join(": ")).join("\n");
      case "list":
        return b.items.join("\n");
    }
  });
}

Deno.test("ConversationTracker groups requests", async (t) => {
  await t.step("by shared history prefix, separately for unrelated histories", () => {
    const tracker = new ConversationTracker();
    const a1 = tracker.assign(parts(["hi"]), {}, "f");
    deltaStep(parts(["hi"]), a1, 1);
    const b1 = tracker.assign(parts(["other"]), {}, "f");
    deltaStep(parts(["other"]), b1, 2);
    const a2 = tracker.assign(parts(["hi", "answer", "more"]), {}, "f");
    assert.equal(a2.id, a1.id);
    assert.notEqual(b1.id, a1.id);
    assert.equal(tracker.count, 2);
  });
  await t.step("by the body's conversation key, even when histories differ", () => {
    const tracker = new ConversationTracker();
    const a = tracker.assign(parts(["x"], { conversationKey: "k1" }), {}, "f");
    const b = tracker.assign(parts(["y"], { conversationKey: "k1" }), {}, "f");
    const c = tracker.assign(parts(["x"], { conversationKey: "k2" }), {}, "f");
    assert.equal(a, b);
    assert.notEqual(a, c);
  });
  await t.step("by a session header", () => {
    const tracker = new ConversationTracker();
    const a = tracker.assign(parts(["x"]), { "Session-Id": "s1" }, "f");
    const b = tracker.assign(parts(["z"]), { "session-id": "s1" }, "f");
    assert.equal(a, b);
    assert.match(a.basis, /session-id header s1/);
  });
  await t.step("by an agent's own session header, named by its target", () => {
    const headers = (id: string) => ({ "X-Claude-Code-Session-Id": id });
    const plain = new ConversationTracker();
    assert.notEqual(
      plain.assign(parts(["x"]), headers("s1"), "f"),
      plain.assign(parts(["z"]), headers("s1"), "f"),
    );
    const tracker = new ConversationTracker(claudeCode.sessionHeaders);
    const a = tracker.assign(parts(["x"]), headers("s1"), "f");
    const b = tracker.assign(parts(["z"]), headers("s1"), "f");
    const c = tracker.assign(parts(["x"]), headers("s2"), "f");
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a.basis, /x-claude-code-session-id header s1/);
  });
  await t.step("by previous_response_id", () => {
    const tracker = new ConversationTracker();
    const a = tracker.assign(parts(["x"]), {}, "f");
    tracker.noteResponse(a, "resp_1");
    const b = tracker.assign(parts(["new only"], { continues: "resp_1" }), {}, "f");
    assert.equal(a, b);
  });
  await t.step("not across models", () => {
    const tracker = new ConversationTracker();
    const a = tracker.assign(parts(["x"], { model: "big" }), {}, "f");
    deltaStep(parts(["x"], { model: "big" }), a, 1);
    const b = tracker.assign(parts(["x", "y"], { model: "small" }), {}, "f");
    assert.notEqual(a, b);
  });
});

Deno.test("deltaRequestBlocks shows only what is new", async (t) => {
  const system = (text: string) => ({ title: "System prompt", text, blocks: () => [] });
  const tools = (fp: Record<string, string>) => ({
    title: "Tools",
    fingerprints: fp,
    blocks: (): Block[] => [{ kind: "heading", text: "Tools (full)" }],
  });
  const tracker = new ConversationTracker();
  const p1 = parts(["a", "b"], {
    system: { ...system("S1"), blocks: (): Block[] => [{ kind: "code", text: "S1" }] },
    tools: tools({ shell: "1", read: "2" }),
  });
  const conv = tracker.assign(p1, {}, "f");
  await t.step("first request: everything in full", () => {
    const out = texts(deltaStep(p1, conv, 1));
    assert.deepEqual(out, ["Model: m", "S1", "Input items: 2 items", "1|a\n2|b", "Tools (full)"]);
  });
  await t.step("next request: new items only, system and tools unchanged", () => {
    const p2 = parts(["a", "b", "c"], {
      system: system("S1"),
      tools: tools({ shell: "1", read: "2" }),
    });
    const out = texts(deltaStep(p2, tracker.assign(p2, {}, "f"), 2));
    assert.deepEqual(out, [
      "Model: m",
      "System prompt: unchanged since #1 (2 characters).",
      "Input items: 1 new, 2 earlier items unchanged",
      "3|c",
      "Tools: 2 unchanged since #1.",
    ]);
  });
  await t.step("edited history, changed system prompt, changed tools", () => {
    const p3 = parts(["a", "summary", "d"], {
      system: system("S1\nextra"),
      tools: tools({ shell: "9", write: "3" }),
    });
    const out = texts(deltaStep(p3, tracker.assign(p3, {}, "f"), 3));
    assert.deepEqual(out, [
      "Model: m",
      "System prompt (changed since #2)",
      "  S1\n+ extra",
      "Input items: history changed: 1 earlier item unchanged, 2 earlier items no longer " +
      "sent (compacted or edited), 2 shown",
      "2|summary\n3|d",
      "Tools changed since #2: added write; removed read; changed shell.",
      "Tools (full)",
    ]);
  });
  await t.step("fullRequestBlocks keeps the seed's complete view", () => {
    assert.deepEqual(texts(fullRequestBlocks(p1)), [
      "Model: m",
      "S1",
      "Input items (2)",
      "1|a\n2|b",
      "Tools (full)",
    ]);
  });
});

Deno.test("lineDiff folds unchanged runs", async (t) => {
  await t.step("one changed line in the middle", () => {
    const a = ["1", "2", "3", "4", "5", "6"].join("\n");
    const b = ["1", "2", "3", "X", "5", "6"].join("\n");
    assert.equal(
      lineDiff(a, b),
      ["  … 2 unchanged lines", "  3", "- 4", "+ X", "  5", "  6"].join("\n"),
    );
  });
  await t.step("identical texts fold completely", () => {
    assert.equal(lineDiff("a\nb\nc", "a\nb\nc"), "  … 3 unchanged lines");
  });
});

Deno.test("delta report of a generated 60-turn session", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/traffic.jsonl`;
    const manifest = await writeCapture(input, { seed: 7, turns: 60, format: "responses" });
    const output = `${dir}/report.md`;
    const result = await analyzeFile({
      input,
      output,
      target: codex,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
      now: new Date(0),
    });
    const report = await Deno.readTextFile(output);
    const captureSize = (await Deno.stat(input)).size;
    await t.step("is at most a tenth of the capture", () => {
      assert.equal(result.entries, 60);
      assert.ok(
        report.length * 10 <= captureSize,
        `report ${report.length} bytes vs capture ${captureSize}`,
      );
    });
    await t.step("still holds every user message, answer and tool call", () => {
      assert.ok(manifest.userMessages.length > 10);
      for (const m of manifest.userMessages) assert.ok(report.includes(m), m);
      for (const a of manifest.answers) assert.ok(report.includes(a), a.slice(0, 40));
      for (const c of manifest.toolCalls) {
        assert.ok(report.includes(`"path": "src/${c.marker}.ts"`), c.marker);
      }
    });
    await t.step("the system prompt appears once", () => {
      assert.equal(report.split("## Rule 1\n").length - 1, 1);
    });
    await t.step("--full is the complete view, many times larger", async () => {
      await analyzeFile({
        input,
        output: `${dir}/full.md`,
        target: codex,
        renderers: builtinRenderers,
        prices: builtinPriceTable(),
        warn: () => {},
        full: true,
      });
      const full = await Deno.readTextFile(`${dir}/full.md`);
      assert.equal(full.split("## Rule 1\n").length - 1, 60);
      assert.ok(full.length > report.length * 5);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ConversationTracker bounds memory without losing conversations", async (t) => {
  await t.step("a conversation idle behind 20 others is still recognised and diffed", () => {
    const tracker = new ConversationTracker();
    const sys = (text: string) => ({ title: "System", text, blocks: () => [] });
    const first = parts(["start-0", "x"], { system: sys("S") });
    const c0 = tracker.assign(first, {}, "f");
    deltaStep(first, c0, 1);
    for (let i = 1; i <= 20; i++) {
      const p = parts([`start-${i}`]);
      deltaStep(p, tracker.assign(p, {}, "f"), i + 1);
    }
    assert.equal(c0.hashed, true);
    const again = parts(["start-0", "x", "new"], { system: sys("S") });
    const c = tracker.assign(again, {}, "f");
    assert.equal(c, c0);
    const out = texts(deltaStep(again, c, 22));
    assert.deepEqual(out, [
      "Model: m",
      "System: unchanged since #1 (1 characters).",
      "Input items: 1 new, 2 earlier items unchanged",
      "3|new",
    ]);
  });
});

Deno.test("conversations that start with a system prompt or tools already shown refer to them", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const input = `${dir}/traffic.jsonl`;
    // Ten sessions of three requests, Responses and Messages in turn: one agent's prompt and
    // tools in each, as subagents and a day of sessions send them.
    const manifest = await writeCapture(input, {
      seed: 3,
      turns: 3,
      format: "mixed",
      sessions: 10,
    });
    const analyze = async (output: string, full = false) => {
      await analyzeFile({
        input,
        output,
        renderers: builtinRenderers,
        prices: builtinPriceTable(),
        warn: () => {},
        full,
      });
      return await Deno.readTextFile(output);
    };
    const report = await analyze(`${dir}/report.md`);
    const count = (text: string, part: string) => text.split(part).length - 1;
    await t.step("each API's system prompt and tools in full once, then by reference", () => {
      assert.equal(count(report, "## Rule 1\n"), 2);
      assert.equal(count(report, "\n##### Tool schemas\n"), 2);
      // Conversation 3 (exchange 7) is the second Responses one: it refers to exchange 1.
      assert.match(
        report,
        /### 7\\\. [^]*System prompt \(instructions\): the same as #1's \(\d+ characters\)\./,
      );
      assert.equal(count(report, "System prompt (instructions): the same as #1's ("), 4);
      assert.equal(count(report, "System prompt: the same as #4's ("), 4);
      assert.equal(count(report, "Tools: the same 6 as #1's."), 4);
      assert.equal(count(report, "Tools: the same 6 as #4's."), 4);
      for (const m of manifest.userMessages) assert.ok(report.includes(m), m);
    });
    await t.step("the HTML report links the exchange it refers to", async () => {
      await analyzeFile({
        input,
        output: `${dir}/report.html`,
        renderers: builtinRenderers,
        prices: builtinPriceTable(),
        warn: () => {},
        writer: htmlWriter,
      });
      const html = await Deno.readTextFile(`${dir}/report.html`);
      assert.equal(count(html, `Tools: the same 6 as <a href="#ex-1">#1</a>&#39;s.`), 4);
      assert.ok(html.includes('id="ex-1"'));
      assert.match(html, /unchanged since <a href="#ex-\d+">#\d+<\/a>/);
    });
    await t.step("--full shows them in every request", async () => {
      const full = await analyze(`${dir}/full.md`, true);
      assert.equal(count(full, "## Rule 1\n"), 30);
      assert.equal(count(full, "the same as #"), 0);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashNumber's seed picks another hash; the default is the history's", () => {
  assert.equal(
    hashNumber("You are a coding agent."),
    parseInt(hashText("You are a coding agent."), 36),
  );
  assert.notEqual(hashNumber("a", 0x9e3779b9), hashNumber("a"));
  assert.equal(hashNumber("a", 0), hashNumber("a"));
});

Deno.test("ShownBefore remembers the texts most recently referred to", () => {
  const shown = new ShownBefore();
  assert.equal(shown.earlier("a", 1), undefined);
  assert.equal(shown.earlier("a", 5), 1);
  for (let i = 0; i < 63; i++) shown.earlier(`t${i}`, 10 + i);
  assert.equal(shown.earlier("a", 99), 1, "64 texts: all remembered");
  shown.earlier("t63", 200); // the 65th: the least recently referred to (t0) goes
  assert.equal(shown.earlier("t0", 300), undefined);
  assert.equal(shown.earlier("a", 301), 1);
});

Deno.test("a reference stands only for what would be shown the same", async (t) => {
  const long = "You are a coding agent. ".repeat(40);
  const system = (marker: string): RequestParts["system"] => ({
    title: "System prompt",
    text: long,
    blocks: () => [{ kind: "code", text: `${marker}${long}` }],
  });
  const tracker = new ConversationTracker();
  const request = (sys: RequestParts["system"], key: string, index: number) => {
    const p = parts([key], { system: sys, conversationKey: key });
    const conv = tracker.assign(p, {}, "f");
    return texts(deltaBlocks(p, tracker.shownBefore(p, requestDelta(p, conv), index)));
  };
  await t.step("the same text with another cache breakpoint is shown again", () => {
    request(system("[cache: ephemeral 1h] "), "a", 1);
    const out = request(system(""), "b", 2);
    assert.ok(!out.some((x) => x.includes("the same as")), out.join("\n"));
    assert.ok(
      request(system(""), "c", 3).includes(
        `System prompt: the same as #2's (${long.length} characters).`,
      ),
    );
  });
  await t.step("under 400 characters of text, shown again whatever the title", () => {
    const plain = (text: string): RequestParts["system"] => ({
      title: "System prompt (instructions)",
      text,
      blocks: () => [{ kind: "code", text }],
    });
    const short = "x".repeat(MIN_REFERRED - 1);
    request(plain(short), "s1", 10);
    assert.ok(!request(plain(short), "s2", 11).some((x) => x.includes("the same as")));
    const enough = "y".repeat(MIN_REFERRED);
    request(plain(enough), "s3", 12);
    assert.ok(request(plain(enough), "s4", 13).some((x) => x.includes("the same as #12's")));
  });
  await t.step("only the labels it wrote are links: a tool named #2 is text", () => {
    const tools = (fp: Record<string, unknown>): RequestParts["tools"] => ({
      title: "Tools",
      fingerprints: fp,
      blocks: () => [],
    });
    const first = parts(["q"], { tools: tools({ read: 1 }), conversationKey: "t" });
    deltaStep(first, tracker.assign(first, {}, "f"), 21);
    const next = parts(["q", "r"], { tools: tools({ read: 1, "#2": 2 }), conversationKey: "t" });
    const blocks = deltaStep(next, tracker.assign(next, {}, "f"), 22);
    const html = blocksToHtml(blocks.filter((b) => b.kind === "paragraph"), 1);
    assert.equal(html, '<p>Tools changed since <a href="#ex-21">#21</a>: added #2.</p>\n');
  });
  await t.step("two tools of one name are both kept", () => {
    const { tools } = toolsPart(
      [{ name: "read" }, { name: "bash", d: "evil" }, { name: "bash", d: "plain" }],
      (x) => (x as { name: string }).name,
      () => [],
    );
    assert.deepEqual(Object.keys(tools!.fingerprints), ["read", "bash", "bash (2)"]);
  });
});
