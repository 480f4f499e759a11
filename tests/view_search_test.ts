/**
 * The viewer's search with the strings people type: non-ASCII words (which probe's recorder
 * writes as `\uXXXX` escapes), quotes, backslashes, regex characters, a very long query.
 */
import assert from "node:assert/strict";
import { startViewer } from "../lib/view/server.ts";
import { rawProbe } from "../lib/view/index.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";

const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;

/** JSON as Python's json.dumps writes it (the recorder): non-ASCII as \uXXXX escapes. */
const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

Deno.test("viewer search finds what is typed, as it reads", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-view-search-" });
  const file = `${dir}/traffic.jsonl`;
  const entry = JSON.parse((await Deno.readTextFile(SAMPLE)).split("\n")[0]);
  entry.request.body.input[0].content[0].text =
    'Schreib eine Funktion für İstanbul\'s Café: say "hi" to C:\\temp (a+b)*[c] 日本語 🙂';
  await Deno.writeTextFile(file, asciiJson(entry) + "\n");
  assert.ok((await Deno.readTextFile(file)).includes("\\u00e9"), "written as the recorder does");
  await using server = startViewer({
    paths: [file],
    targets: builtinTargets,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    follow: false,
  });
  // The capture is read after the server starts: searched once it is read.
  while ((await (await fetch(`${server.url}api/sessions`)).json()).sessions[0].indexing) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const search = async (q: string) => {
    const res = await fetch(`${server.url}api/search?q=${encodeURIComponent(q)}`);
    assert.equal(res.status, 200);
    return (await res.json()).hits as { index: number; snippet: { match: string } | null }[];
  };
  for (
    const [q, match] of [
      ["café", "Café"],
      ["FÜR", "für"],
      ['say "hi"', 'say "hi"'],
      ["c:\\temp", "C:\\temp"],
      ["(a+b)*[c]", "(a+b)*[c]"],
      ["日本語", "日本語"],
      ["🙂", "🙂"],
      ["stanbul's café", "stanbul's Café"],
    ]
  ) {
    await t.step(`"${q}"`, async () => {
      const hits = await search(q);
      assert.equal(hits.length, 1, q);
      assert.equal(hits[0].snippet?.match, match);
    });
  }
  await t.step("no match, a very long query, regex characters alone", async () => {
    assert.deepEqual(await search("café au lait"), []);
    assert.deepEqual(await search("x".repeat(5000)), []);
    assert.deepEqual(await search(".*"), []);
  });
  await t.step("the raw-text probe: the longest run JSON writes as typed", () => {
    assert.equal(rawProbe("is_prime"), "is_prime");
    assert.equal(rawProbe('say "hi" now'), "say ");
    assert.equal(rawProbe("café"), "caf");
    assert.equal(rawProbe("日本語"), null);
  });
  await Deno.remove(dir, { recursive: true });
});
