/**
 * The viewer following a capture that grows (`probe capture --view`): the page is told when
 * there is something new and only then, and once the capture ends the page hears that too.
 */
import assert from "node:assert/strict";
import { startViewer } from "../lib/view/server.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";

const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;

/** The revisions a server-sent event stream announces, as they arrive. */
async function* updates(url: string, signal: AbortSignal): AsyncGenerator<number> {
  const res = await fetch(url, { signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let at;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = /^data: (\d+)$/m.exec(event);
        if (data) yield Number(data[1]);
      }
    }
  } finally {
    reader.releaseLock();
  }
}

Deno.test("a followed capture: updates only for news, and its end", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-view-follow-" });
  const file = `${dir}/traffic.jsonl`;
  const lines = (await Deno.readTextFile(SAMPLE)).split("\n").filter((l) => l.trim());
  await Deno.writeTextFile(file, lines[0] + "\n");
  const stop = new AbortController();
  await using server = startViewer({
    paths: [file],
    targets: builtinTargets,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    follow: true,
  });
  const state = async () => await (await fetch(`${server.url}api/state`)).json();
  try {
    while ((await state()).sessions[0].indexing) await new Promise((r) => setTimeout(r, 20));
    const events = updates(`${server.url}api/events`, stop.signal);
    const first = (await events.next()).value as number;
    assert.equal(typeof first, "number");
    assert.equal(server.watched(), true, "a page is following the events");

    await t.step("nothing new: no updates (the file is read every 100 ms)", async () => {
      // At most the one saying the first reading ended, which may still be on its way.
      let seen = 0;
      let next = events.next();
      const window = new Promise<void>((r) => setTimeout(r, 1500));
      while (await Promise.race([next.then(() => true), window.then(() => false)])) {
        seen++;
        next = events.next();
      }
      assert.ok(seen <= 1, `${seen} updates in 1.5 s although the capture did not change`);
      await Deno.writeTextFile(file, lines[1] + "\n", { append: true });
      const rev = (await next).value as number;
      assert.ok(rev > first);
      assert.equal((await state()).sessions[0].turns, 2);
    });

    await t.step("the capture ends: read to its end, no longer live", async () => {
      await Deno.writeTextFile(file, lines[2] + "\n", { append: true });
      server.end();
      let s;
      do s = await state(); while (s.follow);
      assert.equal(s.sessions[0].turns, 3);
      assert.deepEqual(s.sessions[0].inflight, []);
    });
  } finally {
    stop.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
