/**
 * The analysis model (lib/model): `analyze --format json` validated against its JSON Schema,
 * and what the model finds on captures built for it: cache misses and their reasons, context
 * composition calibrated to the reported usage, subagent threads, model switches.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { analyzeFile } from "../lib/analyze.ts";
import type { AnalysisModel, SessionRecord, Turn } from "../lib/model/types.ts";
import { CONTEXT_PARTS } from "../lib/model/types.ts";
import { composition, MAX_CALIBRATION } from "../lib/model/build.ts";
import schema from "../lib/model/schema.json" with { type: "json" };
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;

function validator() {
  const ajv = new Ajv({ strict: true, allErrors: true });
  return ajv.compile(schema);
}

async function jsonText(input: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, "analyze", "-t", "codex"]
      .concat(["-i", input, "-f", "json", "-o", "-"]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

const jsonOf = async (input: string): Promise<unknown> => JSON.parse(await jsonText(input));

/** The turns of conversation `id`, as a reader of the JSON finds them. */
const turnsOf = (s: SessionRecord, id: number): Turn[] =>
  s.turns.filter((t) => t.conversation === id);

/** Analyzes entries written as a capture and returns its one session. */
async function sessionOf(entries: unknown[]): Promise<SessionRecord> {
  const dir = await Deno.makeTempDir({ prefix: "probe-model-" });
  try {
    const input = `${dir}/traffic.jsonl`;
    await Deno.writeTextFile(input, entries.map((e) => JSON.stringify(e)).join("\n") + "\n");
    await analyzeFile({
      input,
      output: `${dir}/model.json`,
      target: builtinTargets.find((t) => t.name === "claude-code")!,
      renderers: builtinRenderers,
      prices: builtinPriceTable(),
      warn: () => {},
      json: true,
    });
    const written = JSON.parse(await Deno.readTextFile(`${dir}/model.json`)) as AnalysisModel;
    assert.ok(validator()(written), JSON.stringify(validator().errors));
    return written.sessions[0];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const TOOLS = [{ name: "Bash", description: "Run a command", input_schema: { type: "object" } }];
const LONG = "You are a careful coding agent. ".repeat(200);

/** One Anthropic exchange at `t` seconds with the given usage. */
function anthropic(
  t: number,
  body: { system?: string; messages: unknown[]; model?: string; tools?: unknown[] },
  usage: { input: number; read: number; write: number; output: number },
  content: unknown[] = [{ type: "text", text: "ok" }],
  headers: Record<string, string> = {},
) {
  return {
    timestamp: t,
    timing: { start: t, first_byte: t + 0.5, end: t + 2 },
    request: {
      method: "POST",
      url: "https://api.anthropic.com/v1/messages",
      headers: { "content-type": "application/json", ...headers },
      body: {
        model: body.model ?? "claude-sonnet-4-5",
        max_tokens: 1000,
        system: body.system ?? LONG,
        tools: body.tools ?? TOOLS,
        messages: body.messages,
      },
    },
    response: {
      status_code: 200,
      headers: { "content-type": "application/json" },
      body: {
        type: "message",
        role: "assistant",
        model: body.model ?? "claude-sonnet-4-5",
        content,
        stop_reason: "end_turn",
        usage: {
          input_tokens: usage.input,
          cache_read_input_tokens: usage.read,
          cache_creation_input_tokens: usage.write,
          output_tokens: usage.output,
        },
      },
    },
  };
}

const user = (text: string) => ({ role: "user", content: text });
const assistant = (text: string) => ({ role: "assistant", content: [{ type: "text", text }] });

Deno.test("analyze --format json validates against lib/model/schema.json", async (t) => {
  const validate = validator();
  for (const name of ["sample_traffic.jsonl", "mixed_traffic.jsonl", "html_multi_traffic.jsonl"]) {
    await t.step(name, async () => {
      const model = await jsonOf(data(name)) as AnalysisModel;
      assert.ok(validate(model), JSON.stringify(validate.errors, null, 1));
      assert.ok(model.sessions[0].turnCount > 0);
      assert.equal(model.sessions[0].turns.length, model.sessions[0].turnCount);
    });
  }
  await t.step("the mixed capture has a conversation per API with its turns", async () => {
    const model = await jsonOf(data("mixed_traffic.jsonl")) as AnalysisModel;
    const s = model.sessions[0];
    assert.deepEqual(
      [...s.apis].sort(),
      ["anthropic_messages", "gemini", "openai_chat", "openai_responses"],
    );
    assert.equal(s.exchanges, 15);
    assert.equal(s.turnCount, 14); // the HEAD probe is no turn
    assert.deepEqual(s.turns.map((t) => t.index), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(s.conversationCount, s.conversations.length);
    // Each conversation's counts agree with the turns that name it.
    for (const c of s.conversations) {
      const turns = turnsOf(s, c.id);
      assert.equal(c.turnCount, turns.length);
      assert.equal(c.firstTurn, turns[0].index);
      assert.equal(c.lastTurn, turns.at(-1)!.index);
      assert.equal(c.tokens.input, turns.reduce((n, t) => n + (t.tokens?.input ?? 0), 0));
    }
  });
  await t.step("the same capture gives the same bytes, one record a line", async () => {
    const [a, b] = [
      await jsonText(data("mixed_traffic.jsonl")),
      await jsonText(data("mixed_traffic.jsonl")),
    ];
    assert.equal(a, b);
    const lines = a.split("\n");
    // The session's 14 turns, 10 conversations: one line each.
    assert.equal(lines.filter((l) => l.startsWith('{"index":')).length, 14);
    assert.equal(lines.filter((l) => /^\{"id":\d+,/.test(l)).length, 10);
  });
  await t.step("a schema violation is caught (the validator is not vacuous)", () => {
    assert.equal(validate({ version: 1, generator: "x", sessions: [{ id: 1 }] }), false);
  });
});

Deno.test("ModelBuilder finds cache misses and names the first changed prefix element", async () => {
  const m1 = [user("Fix the bug in parser.ts")];
  const m2 = [...m1, assistant("Looking."), user("Also add a test")];
  const m3 = [...m2, assistant("Done."), user("Thanks, now run it")];
  const m4 = [...m3, assistant("Ran."), user("And once more")];
  const s = await sessionOf([
    anthropic(100, { messages: m1 }, { input: 10, read: 0, write: 2000, output: 5 }),
    anthropic(110, { messages: m2 }, { input: 20, read: 2000, write: 30, output: 5 }),
    // The system prompt changed: the cache breaks at it.
    anthropic(120, { messages: m3, system: LONG + " Today is Friday." }, {
      input: 2100,
      read: 0,
      write: 0,
      output: 5,
    }),
    anthropic(130, { messages: m4, system: LONG + " Today is Friday." }, {
      input: 30,
      read: 2100,
      write: 0,
      output: 5,
    }),
    // Unchanged prefix, but ten minutes later: the cache expired.
    anthropic(730, {
      messages: [...m4, assistant("x"), user("later")],
      system: LONG + " Today is Friday.",
    }, {
      input: 2200,
      read: 0,
      write: 0,
      output: 5,
    }),
  ]);
  assert.equal(s.conversations.length, 1);
  const [t1, t2, t3, t4, t5] = turnsOf(s, s.conversations[0].id);
  assert.equal(t1.cache.miss, null);
  assert.equal(t2.cache.read, 2000);
  assert.equal(t2.newFrom, 1);
  assert.ok(t2.cache.hitRate! > 0.9);
  assert.equal(t3.cache.hitRate, 0);
  assert.equal(t3.cache.miss?.changed, "the system prompt");
  assert.match(t3.cache.miss!.reason, /system prompt changed/);
  assert.equal(t4.cache.miss, null);
  assert.equal(t5.cache.miss?.changed, null);
  assert.equal(t5.cache.miss?.gapSeconds, 600);
  assert.match(t5.cache.miss!.reason, /600 s since the previous turn/);
  assert.equal(t1.ttfbMs, 500);
  assert.equal(t1.durationMs, 2000);
});

Deno.test("ModelBuilder context composition sums to the reported input tokens", async () => {
  const m1 = [user("hello")];
  const m2 = [
    ...m1,
    {
      role: "assistant",
      content: [{ type: "tool_use", id: "tu1", name: "Bash", input: { command: "ls" } }],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "tu1", content: "a.txt\nb.txt" }],
    },
  ];
  const s = await sessionOf([
    anthropic(1, { messages: m1 }, { input: 1500, read: 0, write: 0, output: 5 }),
    anthropic(2, { messages: m2 }, { input: 1600, read: 0, write: 0, output: 5 }),
  ]);
  const [t1, t2] = turnsOf(s, s.conversations[0].id);
  for (const t of [t1, t2]) {
    const sum = CONTEXT_PARTS.reduce((n, p) => n + t.context.tokens[p], 0);
    assert.ok(
      Math.abs(sum - t.tokens!.input) <= CONTEXT_PARTS.length,
      `${sum} vs ${t.tokens!.input}`,
    );
    assert.equal(t.context.calibrated, true);
  }
  assert.ok(t1.context.bytes.system > LONG.length);
  assert.ok(t1.context.bytes.tools > 0);
  assert.equal(t1.context.bytes.history, 0);
  assert.ok(t2.context.bytes.history > 0, "earlier message and the echoed call are history");
  assert.ok(t2.context.bytes.toolResults > 0);
  assert.equal(t2.context.bytes.newInput, 0);
  assert.deepEqual(t2.toolCalls, [{ name: "Bash", callId: "tu1" }]);
});

Deno.test("context composition is scaled up to a limit, beyond it left as estimated", () => {
  const bytes = { system: 400, tools: 0, history: 0, toolResults: 0, newInput: 400 };
  const scaled = composition(bytes, 200 * MAX_CALIBRATION);
  assert.deepEqual([scaled.calibrated, scaled.factor, scaled.tokens.system], [true, 10, 1000]);
  const server = composition(bytes, 200 * MAX_CALIBRATION + 1);
  assert.deepEqual([server.calibrated, server.factor, server.tokens.system], [false, 10.005, 100]);
  assert.deepEqual(composition(bytes, undefined).tokens.newInput, 100);
});

Deno.test("ModelBuilder links a subagent thread to its spawning tool call", async () => {
  // Claude Code sends one session header on every request, its subagents' included.
  const SESSION = { "x-claude-code-session-id": "5e55-1011" };
  const prompt = "Investigate how the parser handles nested quotes and report back.";
  const p1 = [user("Review the parser")];
  const call = {
    type: "tool_use",
    id: "toolu_task",
    name: "Task",
    input: { description: "Investigate", prompt },
  };
  const s = await sessionOf([
    anthropic(1, { messages: p1 }, { input: 100, read: 0, write: 0, output: 5 }, [call], SESSION),
    // The subagent's own thread: its first message is the prompt, with its own system prompt.
    anthropic(
      2,
      { messages: [user(prompt)], system: "You are a subagent." },
      {
        input: 50,
        read: 0,
        write: 0,
        output: 5,
      },
      undefined,
      SESSION,
    ),
    anthropic(
      3,
      {
        messages: [
          ...p1,
          { role: "assistant", content: [call] },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "toolu_task", content: "done" }],
          },
        ],
        model: "claude-opus-4-1",
      },
      { input: 120, read: 0, write: 0, output: 5 },
      undefined,
      SESSION,
    ),
  ]);
  assert.equal(s.conversations.length, 2);
  const [main, sub] = s.conversations;
  assert.equal(sub.title, prompt);
  assert.deepEqual(s.subagents, [{
    conversation: sub.id,
    parent: { conversation: main.id, turn: 1, toolName: "Task", callId: "toolu_task" },
  }]);
  assert.deepEqual(s.events, [{
    conversation: main.id,
    kind: "model_switch",
    turn: 3,
    detail: "claude-sonnet-4-5 → claude-opus-4-1",
  }]);
});
