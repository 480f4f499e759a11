/**
 * A report's model keeps only what its sections show (ModelBuilder `keep: "digest"`), and
 * `--format json` writes it as it goes (`keep: "stream"`): these tests feed the same exchanges
 * to a builder that keeps everything and to one that keeps the digest or streams, and check
 * the digest against the full model read the way the sections read it, and the JSON against
 * the full model.
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { ACTIVE_CONVERSATIONS, TRACKED_CONVERSATIONS } from "../lib/conversation.ts";
import { type ExchangeInput, ModelBuilder } from "../lib/model/build.ts";
import { ModelJsonWriter } from "../lib/model/json.ts";
import schema from "../lib/model/schema.json" with { type: "json" };
import {
  type AnalysisModel,
  LISTED_ROWS,
  type Session,
  type SessionDigest,
  type SpawnLink,
} from "../lib/model/types.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import type { FactItem, Usage } from "../lib/types.ts";

const SYSTEM = "You are a careful assistant.";

function text(role: string, t: string): FactItem {
  return { role, kind: "text", text: t, key: JSON.stringify({ role, t }) };
}

function call(name: string, args: string, id: string): FactItem {
  return { role: "assistant", kind: "tool_call", text: args, name, callId: id, key: args + id };
}

/**
 * Exchanges of `n` conversations, interleaved several at a time, whose turns show every kind
 * of thing the sections list: cache misses, compactions, model switches, subagent threads
 * spawned by a tool call (the call is resent after the subagent ran, as agents do).
 */
/** `step`: capture seconds between exchanges. */
function exchanges(n: number, step = 2): ExchangeInput[] {
  const out: ExchangeInput[] = [];
  let index = 0;
  let t = 1_700_000_000;
  const add = (
    group: number,
    items: FactItem[],
    u: Omit<Usage, "total">,
    model = "gpt-test",
  ) => {
    const usage = { ...u, total: u.input + u.output };
    index++;
    t += step;
    out.push({
      index,
      line: index,
      entry: {
        timestamp: t,
        request: { method: "POST", url: "http://h/v1/x", headers: {}, body: "" },
        response: { status_code: 200, headers: {}, body: "" },
      },
      api: "test",
      conversation: { id: group, basis: "conversation key" },
      facts: {
        model,
        system: { text: SYSTEM, key: SYSTEM },
        tools: [],
        items,
        order: ["system", "items"],
      },
      usage,
      model,
      problems: [],
    });
  };
  for (let c = 1; c <= n; c += 2) {
    // Two conversations at a time: the first spawns a subagent (the second), which runs
    // before the first resends the call.
    const first = [text("user", `task number ${c}: write the parser`)];
    const prompt = `subagent prompt for conversation ${c}: read the files`;
    add(c, first, { input: 2000, output: 10, cached: 0 });
    add(c + 1, [text("user", prompt)], { input: 1500, output: 10, cached: 0 });
    const history = [...first, call("Task", JSON.stringify({ prompt }), `call-${c}`)];
    add(c, history, { input: 2100, output: 10, cached: 1800 });
    add(c + 1, [text("user", prompt), text("assistant", "done")], {
      input: 1600,
      output: 10,
      cached: 1400,
    });
    // A miss (cache fell, prefix unchanged), a compaction, a model switch.
    add(c, [...history, text("user", "go on")], { input: 2300, output: 10, cached: 0 });
    const summary = [text("user", "summary of the work")];
    add(c, summary, { input: 1200, output: 10, cached: 0 });
    add(c, [...summary, text("assistant", "ok"), text("user", "next")], {
      input: 1300,
      output: 10,
      cached: 1100,
    }, "gpt-2");
  }
  // Conversation 1 comes back last with another miss (listed before the later ones').
  add(
    1,
    [
      text("user", "summary of the work"),
      text("assistant", "ok"),
      text("user", "next"),
      text("assistant", "sure"),
      text("user", "more"),
    ],
    { input: 2000, output: 10, cached: 0 },
    "gpt-2",
  );
  return out;
}

/** The sections' view of a full model, as they computed it before the digest existed. */
function digestOf(s: Session): SessionDigest {
  const convs = s.conversations;
  const misses = convs.flatMap((c) =>
    c.turns.filter((t) => t.cache.miss).map((t) => ({
      conversation: c.id,
      turn: t.index,
      miss: t.cache.miss!,
    }))
  );
  const events = convs.flatMap((c) => c.events.map((event) => ({ conversation: c.id, event })));
  return {
    conversations: convs.slice(0, LISTED_ROWS).map((c) => ({
      conversation: { ...c, turns: [] },
      turns: c.turns.length,
      latest: c.turns[c.turns.length - 1],
    })),
    conversationCount: convs.length,
    misses: misses.slice(0, LISTED_ROWS),
    missCount: misses.length,
    events: events.slice(0, LISTED_ROWS),
    eventCount: events.length,
  };
}

function builders(n: number, compare = true) {
  const opts = { id: "1", source: "x", agent: "", prices: builtinPriceTable() };
  const all = new ModelBuilder(opts);
  const digest = new ModelBuilder({ ...opts, keep: "digest" });
  for (const x of exchanges(n)) {
    const [a, b] = [digest.add(x), all.add(x)];
    if (compare) assert.deepEqual(a, b);
  }
  return { all, digest };
}

Deno.test("a report's digest equals the full model read as the sections read it", async (t) => {
  for (const n of [6, 2 * LISTED_ROWS + 50]) {
    await t.step(`${n} conversations`, () => {
      const { all, digest } = builders(n);
      const full = all.build();
      digest.build();
      const got = digest.digest();
      const want = digestOf(full);
      const sans = (d: SessionDigest) => ({
        ...d,
        conversations: d.conversations.map((r) => ({
          ...r,
          conversation: { ...r.conversation, turns: [], children: [], events: [] },
        })),
      });
      assert.deepEqual(sans(got), sans(want));
      assert.equal(got.conversationCount, n);
      assert.ok(got.missCount >= n / 2 && got.eventCount >= n, "the capture has misses and events");
      // Subagents are linked to the call that spawned them, listed or not.
      const parents = got.conversations.map((r) => r.conversation.parent);
      const spawned: SpawnLink = { conversation: 1, turn: 1, toolName: "Task", callId: "call-1" };
      assert.deepEqual(parents[1], spawned);
      assert.equal(parents[0], null);
      assert.equal(parents.filter((p) => p !== null).length, Math.min(n, LISTED_ROWS) / 2);
      // The builder that keeps everything gives the same digest.
      assert.deepEqual(sans(all.digest()), sans(want));
    });
  }
});

Deno.test("a report's model keeps the listed conversations only, without their turns", () => {
  const n = 12 * LISTED_ROWS; // more thread groups than a digest keeps state for
  const { digest } = builders(n, false);
  const s = digest.build();
  assert.equal(s.conversations.length, LISTED_ROWS);
  assert.ok(s.conversations.every((c) => c.turns.length === 0));
  assert.equal(s.turns, n / 2 * 7 + 1);
  // Conversation 1 came back after its state was dropped (as the tracker forgets it too):
  // a conversation of its own.
  assert.equal(digest.digest().conversationCount, n + 1);
});

Deno.test("a cache miss names the first prefix element that changed or went", async (t) => {
  const tool = (name: string, v: string) => ({ name, key: JSON.stringify({ name, v }) });
  let index = 0;
  const turn = (
    b: ModelBuilder,
    tools: { name: string; key: string }[],
    items: FactItem[],
    cached: number,
  ) => {
    index++;
    return b.add({
      index,
      line: index,
      entry: {
        timestamp: 1_700_000_000 + index,
        request: { method: "POST", url: "http://h/v1/x", headers: {}, body: "" },
        response: { status_code: 200, headers: {}, body: "" },
      },
      api: "test",
      conversation: { id: 1, basis: "conversation key" },
      facts: {
        system: { text: SYSTEM, key: SYSTEM },
        tools,
        items,
        order: ["tools", "system", "items"],
      },
      usage: { input: 5000, output: 10, cached, total: 5010 },
      problems: [],
    })[0].cache.miss?.changed;
  };
  const tools = [tool("read", "1"), tool("write", "1")];
  const items = [text("user", "first"), call("read", '{"path":"a"}', "c1"), text("user", "x")];
  for (const keep of ["all", "digest"] as const) {
    const b = () =>
      new ModelBuilder({ id: "1", source: "x", agent: "", prices: builtinPriceTable(), keep });
    await t.step(`${keep}: a tool's definition`, () => {
      const m = b();
      turn(m, tools, items, 4000);
      assert.equal(
        turn(m, [tools[0], tool("write", "2")], items, 0),
        "the definition of tool write",
      );
    });
    await t.step(`${keep}: an item`, () => {
      const m = b();
      turn(m, tools, items, 4000);
      const edited = [items[0], call("read", '{"path":"b"}', "c1"), items[2]];
      assert.equal(turn(m, tools, edited, 0), "item 2 (assistant tool call)");
    });
    await t.step(`${keep}: an item no longer sent`, () => {
      const m = b();
      turn(m, tools, items, 4000);
      assert.equal(turn(m, tools, items.slice(0, 2), 0), "item 3 (user text) (no longer sent)");
    });
  }
});

/** A byte sink that keeps what is written. */
function sink() {
  const chunks: Uint8Array[] = [];
  return {
    write: (p: Uint8Array) => (chunks.push(p.slice()), Promise.resolve(p.length)),
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

Deno.test("--format json's stream has every conversation, turn, link and event of the full model", async (t) => {
  const ajv = new Ajv({ strict: true, allErrors: true });
  const validate = ajv.compile(schema);
  const cases = [[6, 2], [2 * LISTED_ROWS + 50, 2], [12 * LISTED_ROWS, 2], [
    2 * LISTED_ROWS + 50,
    600,
  ]];
  for (const [n, step] of cases) {
    await t.step(`${n} conversations, ${step} s apart`, async () => {
      // Conversation 1's late return comes, as from the tracker, under a group of its own
      // once more groups than the builders keep went by.
      const input = exchanges(n, step);
      const last = input.at(-1)!;
      last.conversation = { id: n + 1, basis: "conversation key" };
      const opts = { id: "1", source: "x", agent: "", prices: builtinPriceTable() };
      const all = new ModelBuilder(opts);
      const stream = new ModelBuilder({ ...opts, keep: "stream" });
      await using writer = new ModelJsonWriter();
      let endedEarly = 0;
      for (const x of input) {
        all.add(x);
        await writer.add(stream, stream.add(x));
        endedEarly = writer.counts().conversations;
      }
      await writer.add(stream, undefined, true);
      const out = sink();
      await writer.copyTo(out, stream.build(), "test");
      const doc = JSON.parse(out.text()) as AnalysisModel;
      assert.ok(validate(doc), JSON.stringify(validate.errors));
      const got = doc.sessions[0];
      const full = all.build();

      const turns = full.conversations.flatMap((c) => c.turns).sort((a, b) => a.index - b.index);
      assert.deepEqual(got.turns, turns);
      assert.equal(got.turnCount, full.turns);
      const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
      assert.deepEqual(
        [...got.conversations].sort(byId),
        full.conversations.map((c) => ({
          id: c.id,
          basis: c.basis,
          api: c.api,
          model: c.model,
          title: c.title,
          tokens: c.tokens,
          subCalls: c.subCalls,
          cost: c.cost,
          cacheHitRate: c.cacheHitRate,
          turnCount: c.turns.length,
          firstTurn: c.turns[0].index,
          lastTurn: c.turns.at(-1)!.index,
        })),
      );
      assert.equal(got.conversationCount, n + 1);
      const parents = full.conversations.filter((c) => c.parent !== null);
      assert.equal(parents.length, n / 2);
      assert.deepEqual(
        [...got.subagents].sort((a, b) => a.conversation - b.conversation),
        parents.map((c) => ({ conversation: c.id, parent: c.parent })),
      );
      const events = full.conversations.flatMap((c) =>
        c.events.map((e) => ({ conversation: c.id, ...e }))
      ).sort((a, b) => a.turn - b.turn);
      assert.deepEqual(got.events, events);
      assert.ok(events.length >= n);
      const { conversations: _c, turns: _t, ...totals } = full;
      assert.deepEqual({ ...got, conversations: [], subagents: [], events: [], turns: [] }, {
        ...totals,
        turnCount: full.turns,
        conversationCount: n + 1,
        conversations: [],
        subagents: [],
        events: [],
        turns: [],
      });
      // The threads of the groups the builder forgot (it keeps twice the tracker's) were handed
      // over while the capture was read: one thread per group here. 600 s apart, a group is
      // idle for twice the tracker's hour after two more; only the 128 most recent stay.
      const kept = step === 600 ? 2 * ACTIVE_CONVERSATIONS : 2 * TRACKED_CONVERSATIONS;
      assert.equal(endedEarly, Math.max(0, n + 1 - kept));
    });
  }
});

Deno.test("a group stays active with every exchange of it, a model turn or not", () => {
  const m = new ModelBuilder({
    id: "1",
    source: "x",
    agent: "",
    prices: builtinPriceTable(),
    keep: "digest",
  });
  let index = 0;
  const exchange = (group: number, at: number, turn: boolean): ExchangeInput => ({
    index: ++index,
    line: index,
    entry: {
      timestamp: at,
      request: { method: "POST", url: "http://h/v1/x", headers: {}, body: "" },
      response: { status_code: 200, headers: {}, body: "" },
    },
    api: "test",
    conversation: { id: group, basis: "conversation key" },
    ...(turn
      ? {
        facts: {
          model: "gpt-test",
          system: { text: SYSTEM, key: SYSTEM },
          tools: [],
          items: [text("user", `task ${group}`)],
          order: ["system", "items"],
        },
      }
      : {}),
    problems: [],
  });
  const t0 = 1_700_000_000;
  const first = m.add(exchange(1, t0, true))[0];
  for (let g = 2; g <= 200; g++) m.add(exchange(g, t0 + 10 * g, true));
  // Group 1 sends a request that makes no turn (no conversation items) three hours later...
  assert.deepEqual(m.add(exchange(1, t0 + 10_800, false)), []);
  for (let g = 201; g <= 340; g++) m.add(exchange(g, t0 + 10_800 + g, true));
  // ...so its next turn, with 140 groups since, continues the same conversation.
  const next = m.add(exchange(1, t0 + 11_000, true))[0];
  assert.equal(next.conversation, first.conversation);
});
