/**
 * The analysis remembers a bounded number of conversations: idle ones are forgotten with
 * every way of finding them (key, session header, response ids), so memory does not grow with
 * the number of conversations in a capture. (Peak RSS on large captures: `deno task bench`.)
 */
import assert from "node:assert/strict";
import {
  ACTIVE_CONVERSATIONS,
  ConversationTracker,
  IDLE_SECONDS,
  TRACKED_CONVERSATIONS,
} from "../lib/conversation.ts";
import { lastActive } from "../lib/idle_clock.ts";
import { deltaStep } from "./tools/render_helpers.ts";
import type { RequestParts } from "../lib/types.ts";

function parts(items: string[], over: Partial<RequestParts> = {}): RequestParts {
  return {
    fields: [],
    extra: [],
    items: {
      title: "Items",
      header: ["#", "Item"],
      keys: items,
      row: (i: number) => [String(i + 1), items[i]],
      full: () => [],
    },
    ...over,
  } as unknown as RequestParts;
}

Deno.test("ConversationTracker forgets idle conversations", async (t) => {
  await t.step("by key: at most the limit remembered; a forgotten one starts anew", () => {
    const tracker = new ConversationTracker([], 3);
    const first = new Map<string, number>();
    for (let i = 0; i < 10; i++) {
      const conv = tracker.assign(parts([`x${i}`], { conversationKey: `k${i}` }), {}, "f");
      first.set(`k${i}`, conv.id);
      assert.ok(tracker.tracked <= 3);
    }
    assert.equal(tracker.count, 10);
    assert.equal(tracker.tracked, 3);
    // k9 is still remembered; k0 was forgotten and comes back as a new conversation.
    assert.equal(tracker.assign(parts(["y"], { conversationKey: "k9" }), {}, "f").id, 10);
    const again = tracker.assign(parts(["y"], { conversationKey: "k0" }), {}, "f");
    assert.equal(again.id, 11);
    assert.notEqual(again.id, first.get("k0"));
  });

  await t.step("by session header, the most recently active kept", () => {
    const tracker = new ConversationTracker([], 2);
    const a = tracker.assign(parts(["a"]), { "session-id": "A" }, "f");
    tracker.assign(parts(["b"]), { "session-id": "B" }, "f");
    tracker.assign(parts(["a2"]), { "session-id": "A" }, "f"); // A active again
    tracker.assign(parts(["c"]), { "session-id": "C" }, "f"); // B, the idlest, goes
    assert.equal(tracker.assign(parts(["a3"]), { "session-id": "A" }, "f"), a);
    assert.equal(tracker.assign(parts(["b2"]), { "session-id": "B" }, "f").id, 4);
  });

  await t.step("by shared history: only remembered conversations are compared", () => {
    const tracker = new ConversationTracker([], 2);
    let index = 0;
    // A request is assigned, then rendered: rendering records what the next one is compared to.
    const send = (items: string[]) => {
      const conv = tracker.assign(parts(items), {}, "f");
      deltaStep(parts(items), conv, ++index);
      return conv;
    };
    const a = send(["hello"]);
    send(["other"]);
    assert.equal(send(["hello", "answer"]), a);
    send(["third"]);
    send(["fourth"]);
    const b = send(["hello", "answer", "more"]);
    assert.notEqual(b, a, "a forgotten history is a new conversation");
  });

  await t.step("response ids: only each conversation's latest are kept", () => {
    const tracker = new ConversationTracker();
    const a = tracker.assign(parts(["x"]), {}, "f");
    for (let i = 0; i < 50; i++) tracker.noteResponse(a, `resp_${i}`);
    assert.equal(tracker.assign(parts(["n"], { continues: "resp_49" }), {}, "f"), a);
    assert.notEqual(tracker.assign(parts(["n"], { continues: "resp_0" }), {}, "f"), a);
  });

  await t.step("idle for an hour of capture time, beyond the 64 most recent: forgotten", () => {
    const tracker = new ConversationTracker();
    const send = (key: string, at: number) =>
      tracker.assign(parts([key], { conversationKey: key }), {}, "f", at);
    // A day of conversations that end, one every five minutes: only the 64 most recent stay.
    const ids = new Map<string, number>();
    for (let i = 0; i < 288; i++) ids.set(`k${i}`, send(`k${i}`, i * 300).id);
    assert.equal(tracker.count, 288);
    assert.equal(tracker.tracked, ACTIVE_CONVERSATIONS);
    // The 64th most recent went idle five hours ago, but fewer than 64 others have run since.
    assert.equal(send("k224", 288 * 300).id, ids.get("k224"));
    // The 65th most recent is gone: it starts a new conversation.
    assert.notEqual(send("k223", 288 * 300).id, ids.get("k223"));
  });

  await t.step("within the hour, more than the 64 most recent stay remembered", () => {
    const tracker = new ConversationTracker();
    const send = (key: string, at: number) =>
      tracker.assign(parts([key], { conversationKey: key }), {}, "f", at);
    const first = send("a", 0);
    for (let i = 0; i < 2 * ACTIVE_CONVERSATIONS; i++) send(`k${i}`, 60 + i);
    assert.equal(tracker.tracked, 2 * ACTIVE_CONVERSATIONS + 1);
    assert.equal(send("a", IDLE_SECONDS), first, "idle exactly an hour: kept");
    // Without capture times only the count limit applies.
    const untimed = new ConversationTracker();
    const u = untimed.assign(parts(["a"], { conversationKey: "a" }), {}, "f");
    for (let i = 0; i < 2 * ACTIVE_CONVERSATIONS; i++) {
      untimed.assign(parts([`k${i}`], { conversationKey: `k${i}` }), {}, "f");
    }
    assert.equal(untimed.assign(parts(["a"], { conversationKey: "a" }), {}, "f"), u);
  });

  await t.step("a time that is no time in seconds makes nothing idle", () => {
    const tracker = new ConversationTracker();
    const send = (key: string, at: number) =>
      tracker.assign(parts([key], { conversationKey: key }), {}, "f", at);
    const first = send("a", 1_700_000_000);
    for (let i = 0; i < 2 * ACTIVE_CONVERSATIONS; i++) send(`k${i}`, 1_700_000_000 + i);
    // One entry in milliseconds (a recorder's or a hand edit's), then seconds again.
    send("glitch", 1_700_000_200 * 1000);
    send("nan", NaN);
    assert.equal(send("a", 1_700_000_300), first);
    assert.equal(tracker.tracked, 2 * ACTIVE_CONVERSATIONS + 3);
  });

  await t.step("a clock a day ahead for one entry, then back, makes nothing idle", () => {
    const tracker = new ConversationTracker();
    const t0 = 1_700_000_000;
    const send = (key: string, at: number) =>
      tracker.assign(parts([key], { conversationKey: key }), {}, "f", at);
    const ids = new Map<string, number>();
    // 80 sessions take turns every 5 s (more than the 64 never forgotten).
    for (let i = 0; i < 80; i++) ids.set(`s${i}`, send(`s${i}`, t0 + 5 * i).id);
    send("side", t0 + 86_400);
    for (let i = 0; i < 80; i++) assert.equal(send(`s${i}`, t0 + 400 + 5 * i).id, ids.get(`s${i}`));
  });

  await t.step(
    "a capture resumed the next day forgets once a second conversation is active",
    () => {
      const tracker = new ConversationTracker();
      const t0 = 1_700_000_000;
      const send = (key: string, at: number) =>
        tracker.assign(parts([key], { conversationKey: key }), {}, "f", at);
      for (let i = 0; i < 80; i++) send(`s${i}`, t0 + 5 * i);
      send("next-day-a", t0 + 86_400);
      assert.equal(tracker.tracked, 81, "one conversation's time alone forgets nothing");
      send("next-day-b", t0 + 86_405);
      assert.equal(tracker.tracked, ACTIVE_CONVERSATIONS);
    },
  );

  await t.step("an exchange is last active at its end (a WebSocket's last frame)", () => {
    const entry = (timing?: Record<string, number>) =>
      ({ timestamp: 100, request: {}, response: null, ...(timing ? { timing } : {}) }) as never;
    assert.equal(lastActive(entry({ start: 100, end: 7300 })), 7300);
    assert.equal(lastActive(entry({ start: 100 })), 100);
    assert.equal(lastActive(entry()), 100);
  });

  await t.step("thousands of conversations: remembered ones stay at the limit", () => {
    const tracker = new ConversationTracker();
    for (let i = 0; i < 5000; i++) {
      const conv = tracker.assign(parts([`task ${i}`]), { "session-id": `s${i}` }, "f");
      tracker.noteResponse(conv, `resp_${i}`);
    }
    assert.equal(tracker.count, 5000);
    assert.equal(tracker.tracked, TRACKED_CONVERSATIONS);
  });
});
