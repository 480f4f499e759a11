/** `probe view` on the command line: its URL line, Ctrl+C, and its errors. */
import assert from "node:assert/strict";
import { ProbeProcess, runProbe } from "./tools/capture_helpers.ts";

const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;

Deno.test("probe view prints its URL on a line of its own and stops on Ctrl+C", async () => {
  const probe = new ProbeProcess(["view", SAMPLE, "--no-open"]);
  try {
    const url = (await probe.line(/^(http:\/\/127\.0\.0\.1:(\d+)\/t\/([0-9a-f]{36})\/)$/))[1];
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<script src="app\.js" defer>/);
    // The capture is read after the URL is printed: its turns arrive as they are indexed.
    let api;
    do api = await (await fetch(`${url}api/sessions`)).json(); while (api.sessions[0].indexing);
    assert.equal(api.sessions[0].turns, 3);
    probe.kill("SIGINT");
    const result = await probe.finish();
    assert.equal(result.code, 0, result.stderr.join("\n"));
  } finally {
    await probe.stop();
  }
});

Deno.test("probe view errors are one line with the documented status", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-view-cli-" });
  try {
    const cases: [string, string[], number, RegExp][] = [
      ["a missing file", [`${dir}/nope.jsonl`], 1, /nope\.jsonl: no such capture file or folder/],
      ["a folder without captures", [dir], 1, /no \.jsonl captures in this folder/],
      ["a bad port", [SAMPLE, "--port", "x"], 2, /--port must be an integer 1-65535/],
      ["an unknown option", [SAMPLE, "--bogus"], 2, /^probe: error: view: /],
    ];
    for (const [name, args, code, re] of cases) {
      await t.step(name, async () => {
        const r = await runProbe(["view", ...args, "--no-open"], { cwd: dir });
        assert.equal(r.code, code, r.stderr.join("\n"));
        const lines = r.stderr.filter((l) => l.trim() !== "");
        assert.equal(lines.length, 1, r.stderr.join("\n"));
        assert.match(lines[0], /^probe: error: /);
        assert.match(lines[0], re);
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
