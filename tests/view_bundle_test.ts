/**
 * The viewer's page script is generated (lib/view_app/build.ts) and committed; this fails when
 * the committed lib/view_assets/app.js is not what the sources make, so a change to
 * lib/view_app/ or to the libraries' pins cannot land without its bundle.
 */
import assert from "node:assert/strict";
import { bundleViewApp, OUTPUT, readStamp, sourceHash } from "../lib/view_app/build.ts";

const STALE = "lib/view_assets/app.js is stale: run `deno task build-view` and commit it";

Deno.test("the committed viewer bundle is up to date", async (t) => {
  const committed = await Deno.readTextFile(OUTPUT);
  const stamp = readStamp(committed);
  const fresh = await bundleViewApp();
  await t.step("it was built from the sources and pins as they are now", async () => {
    assert.ok(stamp, "lib/view_assets/app.js has no build stamp: run `deno task build-view`");
    assert.equal(stamp.source, await sourceHash(), STALE);
  });
  await t.step("under the Deno that built it, a fresh build is byte for byte the same", () => {
    // Another Deno's bundler may write other bytes for the same sources; the hash covers that.
    if (stamp?.deno !== Deno.version.deno) {
      console.log(`  built by Deno ${stamp?.deno}, this is ${Deno.version.deno}: hash only`);
      return;
    }
    assert.ok(committed === fresh, STALE);
  });
  await t.step("the bundle loads nothing from the network and has no eval", () => {
    for (const code of [committed, fresh]) {
      assert.doesNotMatch(code, /\bimport\s*\(|\bimport\s+[\w{*]|https?:\/\/(?!www\.w3\.org)/);
      assert.doesNotMatch(code, /\beval\(|new Function\(/);
    }
  });
});
