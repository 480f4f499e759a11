/**
 * The HTML report in a real browser (Debian's Chromium via playwright-core, see
 * tests/tools/browser.ts): it opens without console errors or network requests, exchanges
 * render when opened, the filters and the conversation navigation work, and captured markup
 * never runs.
 */
import assert from "node:assert/strict";
import type { BrowserContext, Page } from "playwright-core";
import { analyzeFile } from "../lib/analyze.ts";
import { htmlWriter } from "../lib/html.ts";
import type { ExchangeDoc } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { BROWSER_TIMEOUT_MS, launchChromium, type RunningBrowser } from "./tools/browser.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

const testdata = new URL("../testdata/", import.meta.url);
const NOW = new Date("2026-02-05T09:00:00.000Z");

async function writeReport(dir: string, name: string): Promise<string> {
  const output = `${dir}/${name}.html`;
  const warnings: string[] = [];
  await analyzeFile({
    input: new URL(`${name}_traffic.jsonl`, testdata).pathname,
    output,
    target: codex,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    warn: (l) => warnings.push(l),
    now: NOW,
    writer: htmlWriter,
  });
  assert.deepEqual(warnings, []);
  return output;
}

const HOSTILE = `<script>alert("doc")</script><img src=x onerror=alert(2)>'"&amp;`;

/** A report written by the writer directly, hostile text in every field it shows. */
async function writeHostileDocReport(dir: string): Promise<string> {
  const doc = (index: number, conversation: string): ExchangeDoc => ({
    index,
    method: `GET${HOSTILE}`,
    path: `/x${HOSTILE}`,
    status: `500${HOSTILE}`,
    renderer: `r${HOSTILE}`,
    conversation,
    problems: [`problem ${HOSTILE}`],
    blocks: [
      { kind: "heading", text: `H ${HOSTILE}` },
      { kind: "paragraph", text: `P ${HOSTILE}` },
      { kind: "fields", rows: [[`K ${HOSTILE}`, `V ${HOSTILE}`]] },
      { kind: "table", header: [`TH ${HOSTILE}`], rows: [[`TD ${HOSTILE}`]] },
      { kind: "code", text: `C ${HOSTILE}`, lang: `js"><script>alert(3)</script>` },
      { kind: "list", items: [`LI ${HOSTILE}`] },
    ],
  });
  const html = htmlWriter.begin({
    title: `T ${HOSTILE}`,
    facts: [[`F ${HOSTILE}`, `FV ${HOSTILE}`]],
    sections: [{ title: `S ${HOSTILE}`, blocks: [{ kind: "paragraph", text: `SP ${HOSTILE}` }] }],
    logTitle: `L ${HOSTILE}`,
  }) + htmlWriter.exchange(doc(1, `conv ${HOSTILE}`)) + htmlWriter.exchange(doc(2, "")) +
    htmlWriter.end();
  const output = `${dir}/hostile_doc.html`;
  await Deno.writeTextFile(output, html);
  return output;
}

/** What a page did that a report must never do. */
interface Watch {
  page: Page;
  url: string;
  consoleErrors: string[];
  requests: string[];
  dialogs: string[];
}

/** Opens a report with listeners attached first; `alert` & co. are replaced by recorders. */
async function open(context: BrowserContext, path: string, hash: string): Promise<Watch> {
  const page = await context.newPage();
  const url = new URL(`file://${path}`).href;
  const watch: Watch = { page, url, consoleErrors: [], requests: [], dialogs: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") {
      watch.consoleErrors.push(`${m.type()}: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => watch.consoleErrors.push(`pageerror: ${e.message}`));
  page.on("request", (r) => watch.requests.push(r.url()));
  page.on("dialog", (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.addInitScript({
    content: `globalThis.__probeCalls = [];
      for (const name of ["alert", "confirm", "prompt", "print"]) {
        globalThis[name] = (...args) => { globalThis.__probeCalls.push(name + ":" + args.join(",")); };
      }`,
  });
  await page.goto(url + hash, { waitUntil: "load" });
  return watch;
}

/**
 * Opens a report, runs `fn` on it, then checks that nothing ran, nothing was fetched and
 * nothing complained; the page is closed in any case.
 */
async function withReport(
  context: BrowserContext,
  path: string,
  fn: (page: Page) => Promise<void>,
  hash = "",
): Promise<void> {
  const w = await open(context, path, hash);
  try {
    await fn(w.page);
    assert.deepEqual(await w.page.evaluate("globalThis.__probeCalls"), []);
    assert.deepEqual(w.consoleErrors, []);
    assert.deepEqual(w.requests, [w.url]);
    assert.deepEqual(w.dialogs, []);
  } finally {
    await w.page.close();
  }
}

/** Ids of the exchanges the filter shows. */
function visibleIds(page: Page): Promise<string[]> {
  return page.locator("details.exchange:not([hidden])").evaluateAll((els) => els.map((e) => e.id));
}

// Waiting happens on this side: Playwright's in-page polling of waitForFunction evaluates
// strings, which the report's Content-Security-Policy (rightly) forbids.

/** Waits until the toolbar's count reads `text`. */
async function waitForShown(page: Page, text: string): Promise<void> {
  await page.locator(`#shown-count:text-is("${text}")`).waitFor({ state: "attached" });
}

/** Waits until `selector` matches exactly `n` elements. */
async function waitForCount(page: Page, selector: string, n: number): Promise<void> {
  const deadline = Date.now() + BROWSER_TIMEOUT_MS;
  let count: number;
  while ((count = await page.locator(selector).count()) !== n) {
    if (Date.now() > deadline) throw new Error(`${selector}: ${count} elements, not ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

Deno.test({
  name: "htmlWriter report in Chromium",
  // playwright-core's pipes to Chromium outlive single steps; the browser is closed in finally.
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "probe-html-" });
  let browser: RunningBrowser | undefined;
  try {
    browser = await launchChromium();
    const sample = await writeReport(dir, "sample");
    const multi = await writeReport(dir, "html_multi");
    const hostile = await writeReport(dir, "hostile");
    const hostileDoc = await writeHostileDocReport(dir);
    const { context } = browser;

    await t.step("sample: opens collapsed, bodies not rendered until opened", async () => {
      await withReport(context, sample, async (page) => {
        await waitForShown(page, "3 of 3 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-1", "ex-2", "ex-3"]);
        assert.equal(await page.locator("details.exchange[open]").count(), 0);
        assert.equal(await page.locator(".ex-body").count(), 0);
        assert.equal(await page.locator("#toolbar").isVisible(), true);
        // No conversation nav when nothing is grouped... or one when the report groups them.
        const navLinks = await page.locator("#conversation-list a").count();
        assert.equal(await page.locator("#conversations").isVisible(), navLinks > 0);
      });
    });

    await t.step("sample: expanding exchange 2 shows its write_file tool call", async () => {
      await withReport(context, sample, async (page) => {
        await page.locator("#ex-2 > summary").click();
        const heading = page.locator("#ex-2 h5", { hasText: /^Tool calls$/ });
        await heading.waitFor({ state: "visible" });
        const name = page.locator("#ex-2 dl.fields > div", { hasText: /^Namewrite_file$/ });
        assert.equal(await name.count(), 1);
        assert.equal(await name.isVisible(), true);
        assert.equal(
          await page.locator("#ex-2 dd", { hasText: /^call_write_1$/ }).isVisible(),
          true,
        );
        assert.equal(await page.locator("#ex-2[open]").count(), 1);
        // Only the opened exchange was instantiated; its template stays, inert.
        assert.equal(await page.locator(".ex-body").count(), 1);
        assert.equal(await page.locator("#ex-2 > template").count(), 1);
        // Closing and reopening does not render it twice.
        await page.locator("#ex-2 > summary").click();
        await page.locator("#ex-2 > summary").click();
        await heading.waitFor({ state: "visible" });
        assert.equal(await page.locator("#ex-2 .ex-body").count(), 1);
      });
    });

    await t.step("sample: expand all and collapse all", async () => {
      await withReport(context, sample, async (page) => {
        await page.locator("#expand-all").click();
        await waitForCount(page, "details[open]", 3);
        assert.equal(await page.locator(".ex-body").count(), 3);
        assert.equal(await page.locator("#ex-3 h5", { hasText: /^Tool calls$/ }).isVisible(), true);
        await page.locator("#collapse-all").click();
        await waitForCount(page, "details[open]", 0);
        assert.equal(await page.locator("#ex-3 h5").first().isVisible(), false);
      });
    });

    await t.step("multi: filter box narrows by body and summary text", async () => {
      await withReport(context, multi, async (page) => {
        await waitForShown(page, "7 of 7 exchanges shown");
        const box = page.locator("#filter");
        // In bodies only (never rendered yet): the tool output and the answer quoting it.
        await box.fill("README.MD");
        await waitForShown(page, "2 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-2", "ex-5"]);
        assert.equal(await page.locator(".ex-body").count(), 0);
        // Only in a summary line.
        await box.fill("→ 429");
        await waitForShown(page, "1 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-3"]);
        await box.fill("call_licence_1");
        await waitForShown(page, "1 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-5"]);
        await box.fill("no exchange says this");
        await waitForShown(page, "0 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), []);
        await box.fill("");
        await waitForShown(page, "7 of 7 exchanges shown");
      });
    });

    await t.step("multi: status and endpoint selects narrow, also with text", async () => {
      await withReport(context, multi, async (page) => {
        const options = (id: string) =>
          page.$$eval(
            `#${id} option`,
            (os) => os.map((o) => [o.getAttribute("value"), o.textContent]),
          );
        assert.deepEqual(await options("filter-status"), [
          ["", "All statuses"],
          ["200", "200 (5)"],
          ["429", "429 (1)"],
          ["500", "500 (1)"],
        ]);
        assert.deepEqual(await options("filter-endpoint"), [
          ["", "All endpoints"],
          ["/v1/models", "/v1/models (1)"],
          ["/v1/responses", "/v1/responses (6)"],
        ]);
        await page.selectOption("#filter-status", "500");
        await waitForShown(page, "1 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-7"]);
        await page.selectOption("#filter-status", "200");
        await waitForShown(page, "5 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-1", "ex-2", "ex-4", "ex-5", "ex-6"]);
        await page.selectOption("#filter-endpoint", "/v1/responses");
        await waitForShown(page, "4 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-1", "ex-2", "ex-4", "ex-5"]);
        await page.locator("#filter").fill("readme.md");
        await waitForShown(page, "2 of 7 exchanges shown");
        await page.selectOption("#filter-endpoint", "/v1/models");
        await waitForShown(page, "0 of 7 exchanges shown");
        await page.locator("#filter").fill("");
        await page.selectOption("#filter-status", "");
        await waitForShown(page, "1 of 7 exchanges shown");
        assert.deepEqual(await visibleIds(page), ["ex-6"]);
        // Expand all opens only what the filter shows.
        await page.locator("#expand-all").click();
        await waitForCount(page, "details[open]", 1);
        assert.equal(await page.locator("#ex-6[open]").count(), 1);
      });
    });

    await t.step("multi: tool calls, and conversation nav jumps to a first exchange", async () => {
      await withReport(context, multi, async (page) => {
        await page.locator("#ex-1 > summary").click();
        await page.locator("#ex-1 dd", { hasText: /^shell$/ }).waitFor({ state: "visible" });
        await page.locator("#ex-5 > summary").click();
        await page.locator("#ex-5 dd", { hasText: /^write_file$/ }).waitFor({ state: "visible" });
        await page.locator("#collapse-all").click();

        assert.equal(await page.locator("#conversations").isVisible(), true);
        const links = page.locator("#conversation-list a");
        assert.deepEqual(
          await links.evaluateAll((as) => as.map((a) => a.getAttribute("href"))),
          ["#ex-1", "#ex-3"],
        );
        const texts = await links.allTextContents();
        assert.equal(texts.length, 2);
        for (const text of texts) assert.match(text, /\(3 exchanges\)$/);
        // A filter that hides the target is cleared by the jump.
        await page.selectOption("#filter-status", "500");
        await waitForShown(page, "1 of 7 exchanges shown");
        await links.nth(1).click();
        await waitForShown(page, "7 of 7 exchanges shown");
        await page.locator("#ex-3 .ex-body").waitFor({ state: "visible" });
        assert.equal(await page.locator("details[open]").count(), 1);
        assert.equal(await page.evaluate<string>("location.hash"), "#ex-3");
        const top = await page.locator("#ex-3").evaluate((e) => e.getBoundingClientRect().top);
        const height = await page.evaluate<number>("innerHeight");
        assert.ok(top >= 0 && top < height / 2, `exchange 3 at ${top} of ${height}`);
        await links.nth(0).click();
        await page.locator("#ex-1 .ex-body").waitFor({ state: "visible" });
        assert.equal(await page.evaluate<string>("location.hash"), "#ex-1");
      });
    });

    await t.step("multi: a link to an earlier exchange opens it, also a second time", async () => {
      await withReport(context, multi, async (page) => {
        await page.locator("#ex-2 > summary").click();
        const link = page.locator('#ex-2 p a[href="#ex-1"]').first();
        assert.match(await link.evaluate((a) => a.parentElement!.textContent!), /since #1/);
        await link.click();
        await page.locator("#ex-1 .ex-body").waitFor({ state: "visible" });
        assert.equal(await page.evaluate<string>("location.hash"), "#ex-1");
        // The reader closes it and follows the same link again: the address does not change.
        await page.locator("#ex-1 > summary").click();
        assert.equal(await page.locator("#ex-1[open]").count(), 0);
        await link.click();
        await page.locator("#ex-1 .ex-body").waitFor({ state: "visible" });
        assert.equal(await page.locator("#ex-1[open]").count(), 1);
      });
    });

    await t.step(
      "multi: a #ex-N address opens that exchange; other addresses open none",
      async () => {
        await withReport(context, multi, async (page) => {
          await page.locator("#ex-4 .ex-body").waitFor({ state: "visible" });
          assert.equal(await page.locator("details[open]").count(), 1);
          await page.evaluate("location.hash = '#ex-6'");
          await page.locator("#ex-6 .ex-body").waitFor({ state: "visible" });
          assert.equal(await page.locator("details[open]").count(), 2);
        }, "#ex-4");
        for (const hash of ["#ex-99", "#%E0%A4%A", "#log", "#filter"]) {
          await withReport(context, multi, async (page) => {
            await waitForShown(page, "7 of 7 exchanges shown");
            assert.equal(await page.locator("details[open]").count(), 0);
          }, hash);
        }
      },
    );

    await t.step("hostile capture: injected markup stays text and never runs", async () => {
      await withReport(context, hostile, async (page) => {
        await page.locator("#expand-all").click();
        await waitForCount(page, ".ex-body", 2);
        const visibleText = async (selector: string, text: string) => {
          const found = page.locator(selector, { hasText: text });
          assert.ok(await found.count() > 0, `${text} in ${selector}`);
          assert.equal(await found.first().isVisible(), true, `${text} visible`);
        };
        await visibleText("#ex-1 pre", "<script>alert('x')</script>");
        await visibleText("#ex-1 pre", "<img src=x onerror=alert(1)>");
        await visibleText("#ex-2 pre", "</pre><script>alert(2)</script>");
        await visibleText("#ex-1 td", "a | b <b>bold</b>");
        assert.equal(await page.locator("script").count(), 1);
        assert.equal(await page.locator("img, b, i, iframe, object, embed").count(), 0);
      });
    });

    await t.step("hostile doc: every field of the writer's input is text", async () => {
      await withReport(context, hostileDoc, async (page) => {
        assert.equal(await page.title(), `T ${HOSTILE}`);
        assert.equal(await page.locator("h1").textContent(), `T ${HOSTILE}`);
        await page.locator("#expand-all").click();
        await waitForCount(page, ".ex-body", 2);
        assert.equal(
          await page.locator("#ex-1 > summary > h3").textContent(),
          `1. GET${HOSTILE} /x${HOSTILE} → 500${HOSTILE}`,
        );
        assert.deepEqual(await page.locator("#ex-1 > summary .badge").allTextContents(), [
          `conversation conv ${HOSTILE}`,
          `problem ${HOSTILE}`,
        ]);
        assert.equal(await page.locator("#ex-1 pre code").textContent(), `C ${HOSTILE}`);
        assert.equal(await page.locator("#ex-1 li").textContent(), `LI ${HOSTILE}`);
        assert.deepEqual(await page.locator("#conversation-list a").allTextContents(), [
          `Conversation conv ${HOSTILE} (1 exchange)`,
          "Conversation (unnamed) (1 exchange)",
        ]);
        // Filters by the hostile values work and the options hold them as text.
        await page.selectOption("#filter-status", `500${HOSTILE}`);
        await waitForShown(page, "2 of 2 exchanges shown");
        await page.locator("#filter").fill(`conv ${HOSTILE}`);
        await waitForShown(page, "1 of 2 exchanges shown");
        assert.equal(await page.locator("script").count(), 1);
        assert.equal(await page.locator("img").count(), 0);
      });
    });
  } finally {
    await browser?.close();
    await Deno.remove(dir, { recursive: true });
  }
});
