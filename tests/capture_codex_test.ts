/**
 * The real Codex CLI (the pinned @openai/codex from the test setup) captured end to end:
 * `probe capture codex --analyze -- codex exec "..."` against the fake upstream, on every
 * mitmdump the setup found. The report must show the prompt, the streamed answer and the
 * usage; neither the capture nor the report may hold the key.
 */
import assert from "node:assert/strict";
import type { Entry } from "../lib/types.ts";
import { answerFor, startFakeUpstream, USAGE } from "./fake_upstream.ts";
import { codexBin, findMitmdumps } from "./tools/paths.ts";
import { captureCodexExec } from "./tools/agent_env.ts";

const MITMDUMPS = await findMitmdumps();
const CODEX = await codexBin();
const KEY = "sk-proj-FAKEprobeTEST0123456789abcdefKEY";
const PROMPT = "Reply with one short greeting for the probe capture test.";

for (const { path: mitmdump, version } of MITMDUMPS) {
  Deno.test(`probe capture codex -- codex exec (real Codex CLI) [mitmproxy ${version}]`, async () => {
    await using upstream = await startFakeUpstream();
    const home = await Deno.makeTempDir({ prefix: "probe-codex-home-" });
    try {
      const { result, stdout, stderr, out } = await captureCodexExec({
        mitmdump,
        codex: CODEX,
        upstream: upstream.url,
        home,
        key: KEY,
        prompt: PROMPT,
      });
      assert.equal(result.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.ok(stdout.includes(answerFor(PROMPT)), "codex printed the answer");

      // Codex really went through the proxy, with the real key, to the fake upstream.
      const model = upstream.requests.filter((r) => r.path === "/v1/responses");
      assert.ok(model.length >= 1);
      assert.equal(model[0].headers.authorization, `Bearer ${KEY}`);

      const capture = await Deno.readTextFile(`${out}/traffic.jsonl`);
      const entries: Entry[] = capture.split("\n").filter((l) => l).map((l) => JSON.parse(l));
      // The POST: Codex's built-in provider first tries a WebSocket (GET, refused with 426).
      const turn = entries.find((e) =>
        e.request.method === "POST" && e.request.url.endsWith("/v1/responses")
      )!;
      assert.ok(turn, "the model request was captured");
      assert.equal(turn.proxy, "api");
      assert.match(
        turn.request.headers["authorization"] ?? turn.request.headers["Authorization"],
        /^Bearer \[REDACTED:[0-9a-f]{8}\]$/,
      );
      assert.equal(typeof turn.response!.body, "string");
      assert.ok((turn.response!.body as string).includes("response.completed"));

      const report = await Deno.readTextFile(`${out}/analysis_report.md`);
      assert.ok(report.includes(PROMPT), "the report shows the prompt");
      assert.ok(report.includes(answerFor(PROMPT)), "the report shows the streamed answer");
      assert.ok(report.includes(String(USAGE.total_tokens)), "the report shows the usage");
      for (const [name, text] of [["capture", capture], ["report", report]]) {
        assert.ok(!text.includes(KEY), `no key in the ${name}`);
        assert.ok(!text.includes("FAKEprobeTEST"), `no part of the key in the ${name}`);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
