/**
 * The viewer's page script is generated (lib/view_app/build.ts) and committed; this rebuilds it
 * and fails when the committed lib/view_assets/app.js is not what the sources make, so a change
 * to lib/view_app/ cannot land without its bundle.
 */
import assert from "node:assert/strict";
import { bundleViewApp, OUTPUT } from "../lib/view_app/build.ts";

Deno.test("the committed viewer bundle is up to date", async (t) => {
  const fresh = await bundleViewApp();
  await t.step(
    "lib/view_assets/app.js equals a fresh build (run `deno task build-view`)",
    async () => {
      const committed = await Deno.readTextFile(OUTPUT);
      assert.ok(
        committed === fresh,
        "lib/view_assets/app.js is stale: run `deno task build-view` and commit it",
      );
    },
  );
  await t.step("the bundle loads nothing from the network and has no eval", () => {
    assert.doesNotMatch(fresh, /\bimport\s*\(|\bimport\s+[\w{*]|https?:\/\/(?!www\.w3\.org)/);
    assert.doesNotMatch(fresh, /\beval\(|new Function\(/);
  });
});
