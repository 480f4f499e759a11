/**
 * lib/model/digests.ts: a request's units keep the hash and size of the previous request's
 * equal units, and only those; the result is what computing every unit gives.
 */
import assert from "node:assert/strict";
import { hashNumber } from "../lib/text_hash.ts";
import { unitDigests } from "../lib/model/digests.ts";
import { utf8Length } from "../lib/stats.ts";
import { keyed } from "../renderers/facts_common.ts";

/** A unit whose key counts how often it is built. */
function unit(raw: unknown, built: { n: number }, role = "user") {
  const u = keyed({ role }, raw, { role, raw }); // as a fact item is (facts_common.ts fact)
  return {
    role,
    raw: u.raw,
    get key() {
      built.n++;
      return u.key;
    },
  };
}

const full = (units: { key: string }[]) => ({
  hashes: units.map((u) => hashNumber(u.key)),
  bytes: units.map((u) => utf8Length(u.key)),
});

Deno.test("unit digests reuse the previous request's for equal units only", async (t) => {
  const history = [{ text: "héllo" }, { text: "a tool's output", n: 1 }];
  const first = { n: 0 };
  const before = unitDigests(history.map((r) => unit(r, first)));
  await t.step("a first request computes every unit", () => {
    assert.equal(first.n, 2);
    assert.deepEqual(
      { hashes: before.hashes, bytes: before.bytes },
      full(history.map((r) => unit(r, { n: 0 }))),
    );
  });
  await t.step("the next request computes only its new and changed units", () => {
    const built = { n: 0 };
    // Parsed again: equal values, other objects; the second unit changed, one is new.
    const next = [{ text: "héllo" }, { text: "a tool's output", n: 2 }, { text: "new" }];
    const after = unitDigests(next.map((r) => unit(structuredClone(r), built)), before);
    assert.equal(built.n, 2);
    assert.deepEqual(
      { hashes: after.hashes, bytes: after.bytes },
      full(next.map((r) => unit(r, { n: 0 }))),
    );
    assert.equal(after.hashes[0], before.hashes[0]);
    assert.notEqual(after.hashes[1], before.hashes[1]);
  });
  await t.step("an equal value under another role is another unit", () => {
    const built = { n: 0 };
    const after = unitDigests([unit({ text: "héllo" }, built, "assistant")], before);
    assert.equal(built.n, 1);
    assert.notEqual(after.hashes[0], before.hashes[0]);
  });
  await t.step("a unit that differs only by a cache marker is computed and hashes the same", () => {
    const marked = unitDigests([
      unit({ text: "héllo", cache_control: { type: "ephemeral" } }, { n: 0 }),
    ]);
    const built = { n: 0 };
    const plain = unitDigests([unit({ text: "héllo" }, built)], marked);
    assert.equal(built.n, 1);
    assert.equal(plain.hashes[0], marked.hashes[0]);
  });
});
