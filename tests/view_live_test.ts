/**
 * `probe capture --view` live: the real Codex CLI runs through `probe capture codex --view`
 * against the fake upstream, which holds the model's stream open; the page (real Chromium)
 * shows the exchange as in progress, and once the stream is released the finished turn
 * appears without a reload (pushed over server-sent events).
 */
import assert from "node:assert/strict";
import { HOLD_MARKER, startFakeUpstream } from "./fake_upstream.ts";
import { agentBin, findMitmdumps } from "./tools/paths.ts";
import { AGENT_TIMEOUT_MS, cleanEnv, codexEnv, codexExecArgs } from "./tools/agent_env.ts";
import { codexCaptureArgs, ProbeProcess, readJsonl } from "./tools/capture_helpers.ts";
import { launchChromium } from "./tools/browser.ts";

const MITMDUMP = (await findMitmdumps())[0];

Deno.test(`probe capture --view follows a real Codex run live [mitmproxy ${MITMDUMP.version}]`, async (t) => {
  await using upstream = await startFakeUpstream();
  const home = await Deno.makeTempDir({ prefix: "probe-view-live-" });
  const browser = await launchChromium();
  let probe: ProbeProcess | undefined;
  try {
    await Deno.mkdir(`${home}/codex`);
    await Deno.mkdir(`${home}/work`);
    const out = `${home}/capture`;
    const prompt = `Say hello to the live viewer. ${HOLD_MARKER}`;
    probe = new ProbeProcess([
      "capture",
      ...codexCaptureArgs(MITMDUMP.path, {
        api: upstream.url,
        chatgpt: upstream.url,
        outputDir: out,
      }),
      "--view",
      "--",
      await agentBin("codex"),
      ...codexExecArgs(prompt),
    ], {
      cwd: `${home}/work`,
      clearEnv: true,
      env: cleanEnv(home, {
        NO_COLOR: "1",
        TERM: "dumb",
        ...codexEnv(home, "sk-proj-FAKEliveVIEW0123456789abcdefghijklmnopqrstuv"),
      }),
      timeoutMs: AGENT_TIMEOUT_MS,
    });
    // All-in-one mode: probe talks on stderr, the URL on a line of its own.
    const url = (await probe.line(/^(http:\/\/127\.0\.0\.1:\d+\/t\/[0-9a-f]+\/)$/, "stderr"))[1];
    const page = await browser.context.newPage();
    await page.goto(url);
    await page.evaluate("globalThis.__sameDocument = true");

    await t.step("the held exchange shows as in progress", async () => {
      await upstream.held;
      const row = page.locator(".inflight .row", { hasText: "/v1/responses" });
      await row.first().waitFor();
      assert.match(await row.first().innerText(), /in progress/i);
      assert.equal(await page.locator(".turns .row").count(), 0, "no finished turn yet");
    });

    await t.step("the finished turn appears without a reload, on a late page too", async () => {
      // On a loaded machine the browser is starved: Codex exits (which once made probe close
      // the viewer) before the page has fetched the finished turn. Here the page's requests
      // wait on purpose until Codex has exited.
      const exited = Promise.race([
        probe!.line(/live view stays open/, "stderr").catch(() => {}),
        probe!.child.status,
      ]);
      await page.route(/\/api\/(state|turn)\b/, async (route) => {
        await exited;
        await route.continue();
      });
      upstream.release();
      await page.locator(".turns .row").first().waitFor();
      await page.locator(".msg.user", { hasText: "Say hello to the live viewer." }).first()
        .waitFor();
      await page.locator(".response", { hasText: "FAKE ANSWER" }).first().waitFor();
      assert.equal(await page.evaluate("globalThis.__sameDocument"), true, "same document");
      await page.locator(".inflight .row", { hasText: "/v1/responses" }).waitFor({
        state: "detached",
      });
      await page.unrouteAll();
    });

    await t.step("after Codex exits, the open page keeps its viewer until Ctrl+C", async () => {
      await probe!.line(/live view stays open .*Ctrl\+C/, "stderr");
      await page.locator("header .ended", { hasText: "capture ended" }).waitFor();
      await page.locator(".response", { hasText: "FAKE ANSWER" }).first().waitFor();
      probe!.kill("SIGINT");
      await page.locator("header .offline", { hasText: "not answering" }).waitFor();
    });

    const result = await probe.finish();
    assert.equal(result.code, 0, result.stderr.join("\n"));
    assert.ok(
      result.stderr.some((l) => /^Capture stopped: \d+ exchanges? recorded/.test(l)),
      result.stderr.join("\n"),
    );
    const entries = await readJsonl(`${out}/traffic.jsonl`);
    assert.ok(entries.some((e) => e.request.url.endsWith("/v1/responses")));
  } finally {
    if (probe) await probe.stop();
    await browser.close();
    await Deno.remove(home, { recursive: true }).catch(() => {});
  }
});
