/**
 * `probe view` in real Chromium (playwright-core + Debian's chromium): the sample's prompt and
 * answer on screen, the four-API capture's conversations, keyboard navigation, a hostile
 * capture that runs nothing, and the server's token, Host and header rules.
 */
import assert from "node:assert/strict";
import { startViewer, VIEW_CSP } from "../lib/view/server.ts";
import { builtinPriceTable } from "../renderers/prices.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";
import { launchChromium, type RunningBrowser } from "./tools/browser.ts";
import type { Page } from "playwright-core";
import { writeCapture } from "../bench/generate.ts";

const data = (name: string) => new URL(`../testdata/${name}`, import.meta.url).pathname;
const target = builtinTargets.find((t) => t.name === "codex")!;

function viewer(paths: string[]) {
  return startViewer({
    paths: paths.map(data),
    target,
    targets: builtinTargets,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    follow: false,
  });
}

/**
 * Evaluates `js` in the page until it returns something truthy (the page's policy forbids the
 * string evaluation that playwright's waitForFunction polls with).
 */
async function until<T>(page: Page, js: string, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const value = await page.evaluate(js) as T;
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A raw HTTP/1.1 GET with the Host header given (fetch would not let a test forge it). */
async function rawGet(port: number, path: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ),
    );
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
    return new TextDecoder().decode(
      chunks.reduce((a, b) => new Uint8Array([...a, ...b]), new Uint8Array()),
    );
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
}

Deno.test("probe view server refuses requests without the token or with another Host", async (t) => {
  await using server = viewer(["sample_traffic.jsonl"]);
  const base = `http://127.0.0.1:${server.port}`;
  await t.step("the page with the token is served with a strict policy and no CORS", async () => {
    const res = await fetch(server.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-security-policy"), VIEW_CSP);
    assert.match(VIEW_CSP, /default-src 'none'/);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.match(await res.text(), /<div id="app">/);
  });
  await t.step("no token, a wrong token, and the API without a token are 403", async () => {
    for (
      const path of ["/", "/t/", "/t/wrong/", "/api/sessions", `/t/${"0".repeat(36)}/api/sessions`]
    ) {
      const res = await fetch(base + path);
      assert.equal(res.status, 403, path);
      await res.body?.cancel();
    }
  });
  await t.step("the right token under another Host name is refused (DNS rebinding)", async () => {
    const path = `/t/${server.token}/api/sessions`;
    const good = await rawGet(server.port, path, `127.0.0.1:${server.port}`);
    assert.match(good, /^HTTP\/1\.1 200/);
    for (const host of [`evil.example:${server.port}`, `localhost:${server.port}`, "127.0.0.1"]) {
      const bad = await rawGet(server.port, path, host);
      assert.match(bad, /^HTTP\/1\.1 421/, host);
      assert.doesNotMatch(bad, /sessions/);
    }
  });
  await t.step("a request line naming another authority is refused too", async () => {
    const path = `http://evil.example/t/${server.token}/api/sessions`;
    const bad = await rawGet(server.port, path, `127.0.0.1:${server.port}`);
    assert.match(bad, /^HTTP\/1\.1 421/);
  });
  await t.step("odd exchange numbers are answered with the same headers, not a crash", async () => {
    const cases: [string, number][] = [
      ["s=1&i=1.5", 404],
      ["s=1&i=-1", 404],
      ["s=1&i=1e400", 404],
      ["s=1&i=0x1", 404],
      ["s=__proto__&i=1", 404],
      ["s=1&i=1&prev=2.5", 200], // no previous turn to compare with
    ];
    for (const [query, status] of cases) {
      const res = await fetch(`${server.url}api/turn?${query}`);
      assert.equal(res.status, status, query);
      assert.equal(res.headers.get("content-security-policy"), VIEW_CSP, query);
      await res.body?.cancel();
    }
  });
  await t.step("a preflight from another origin gets no CORS permission", async () => {
    const res = await fetch(`${server.url}api/sessions`, {
      method: "OPTIONS",
      headers: { origin: "http://evil.example", "access-control-request-method": "GET" },
    });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    await res.body?.cancel();
  });
});

Deno.test("probe view in Chromium", async (t) => {
  let browser: RunningBrowser | undefined;
  try {
    browser = await launchChromium();
    const { context } = browser;

    await t.step(
      "the sample opens on its conversation with the prompt and the answer",
      async () => {
        await using server = viewer(["sample_traffic.jsonl"]);
        const page = await context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push(e.message));
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        await page.goto(server.url);
        await page.locator(".msg.user").first().waitFor();
        const detail = await page.locator(".detail").innerText();
        assert.match(detail, /Write a Python function that checks whether a number is prime\./);
        await page.locator(".response").getByText("def is_prime").first().waitFor();
        assert.equal(await page.locator(".turns .row").count(), 3);
        // Keyboard: j moves to the next turn, which shows only what is new.
        await page.keyboard.press("j");
        await page.locator(".dhead h2", { hasText: "#2" }).waitFor();
        assert.match(await page.locator(".reqhead h3").innerText(), /new of/i);
        await page.keyboard.press("f");
        assert.match(await page.locator(".reqhead h3").innerText(), /all \d+ items/i);
        // cURL and raw views are redacted.
        const raw = await page.locator(".actions").innerText({ timeout: 5000 });
        assert.ok(!raw.includes("sk-proj-SAMPLEkey"), "the API key is redacted");
        const curl = await page.locator(".actions pre").first().textContent();
        assert.match(curl ?? "", /^curl -X POST 'https:\/\/api\.openai\.com\/v1\/responses'/);
        assert.doesNotMatch(curl ?? "", /SAMPLEkey/);
        assert.deepEqual(errors, []);
        await page.close();
      },
    );

    await t.step("the four-API capture: every conversation shows its turns", async () => {
      await using server = viewer(["mixed_traffic.jsonl", "sample_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator("table.sessions tbody tr").nth(1).waitFor();
      assert.equal(await page.locator("table.sessions tbody tr").count(), 2);
      const convs = page.locator("button.conv");
      await convs.first().waitFor();
      const n = await convs.count();
      assert.ok(n >= 8, `conversations: ${n}`);
      const apis = new Set<string>();
      for (let i = 0; i < n; i++) {
        await convs.nth(i).click();
        // Selected once its turns and first turn are loaded and drawn.
        await convs.nth(i).and(page.locator("button.conv.sel")).waitFor();
        await page.locator(".dhead").waitFor();
        await page.locator(".turn.sel .response .blocks").waitFor();
        apis.add((await page.locator(".convhead .muted").innerText()).split(" · ")[0]);
      }
      assert.deepEqual(
        [...apis].sort(),
        ["anthropic_messages", "gemini", "openai_chat", "openai_responses"],
      );
      // A tool call is shown with its result.
      await convs.first().click();
      // The first conversation (Claude Code's) holds exchanges #2 and #3.
      await page.locator(".dhead h2", { hasText: "#2 " }).waitFor();
      await page.keyboard.press("j");
      await page.locator(".dhead h2", { hasText: "#3 " }).waitFor();
      await page.locator(".msg.tool_call details.result").first().waitFor();
      // Search across sessions finds the sample's prompt.
      await page.fill("#search", "is_prime");
      await page.locator("button.hit").first().waitFor();
      await page.locator("button.hit").first().click();
      await page.locator(".response").getByText("is_prime").first().waitFor();
      await page.close();
    });

    await t.step("the conversation reads as one chat; keys for raw, cURL and help", async () => {
      await using server = viewer(["sample_traffic.jsonl"]);
      const page = await context.newPage();
      await context.grantPermissions(["clipboard-read", "clipboard-write"]);
      await page.goto(server.url);
      // Every turn in order, each with what it added and its answer.
      const turns = page.locator(".detail article.turn");
      await turns.nth(2).locator(".response .blocks").waitFor();
      const heads = await turns.evaluateAll((els) =>
        els.map((e) => e.querySelector(".thead b, .dhead h2")?.textContent?.split(" ")[0])
      );
      assert.deepEqual(heads, ["#1", "#2", "#3"]);
      assert.match(await turns.nth(0).innerText(), /checks whether a number is prime/);
      assert.match(await turns.nth(1).innerText(), /Save it to prime\.py/);
      assert.match(await turns.nth(2).locator(".msg.tool_call").innerText(), /write_file/i);
      assert.match(await turns.nth(2).locator(".msg.tool_call .result").innerText(), /\S/);
      // Selecting a turn in the list opens it up in the chat and scrolls it into view.
      await page.locator(".turns .row", { hasText: "#3" }).click();
      await page.locator(".turn.sel .dhead h2", { hasText: "#3 " }).waitFor();
      await page.waitForTimeout(300);
      const inView = await page.evaluate(`(() => {
        const d = document.querySelector(".detail").getBoundingClientRect();
        const t = document.querySelector(".turn.sel").getBoundingClientRect();
        return t.top >= d.top - 1 && t.top < d.bottom;
      })()`);
      assert.equal(inView, true, "the selected turn is scrolled into view");
      // Scrolling the chat marks, in the list, the turn at its top (the selection stays).
      await page.locator(".turns .row.inview", { hasText: "#3" }).waitFor();
      await page.locator(".detail").evaluate((e) => e.scrollTop = 0);
      await page.locator(".turns .row.inview", { hasText: "#1" }).waitFor();
      await page.locator(".turns .row.sel", { hasText: "#3" }).waitFor();
      // r and R open the raw request and response, c copies the cURL command, ? lists the keys.
      await page.keyboard.press("r");
      await page.locator(".turn.sel details.raw-request[open]").waitFor();
      await page.keyboard.press("R");
      await page.locator(".turn.sel details.raw-response[open]").waitFor();
      assert.equal(await page.locator(".turn.sel details.raw-request[open]").count(), 0);
      await page.keyboard.press("c");
      await page.locator(".turn.sel .actions button", { hasText: "Copied" }).waitFor();
      const copied = String(await page.evaluate("navigator.clipboard.readText()"));
      assert.match(copied, /^curl -X POST 'https:\/\/api\.openai\.com\/v1\/responses'/);
      assert.doesNotMatch(copied, /SAMPLEkey/);
      await page.keyboard.press("?");
      const help = await page.locator(".help").innerText();
      for (const key of ["j / k", "r", "R", "c", "/", "?"]) assert.ok(help.includes(key), key);
      await page.keyboard.press("Escape");
      await page.locator(".help").waitFor({ state: "detached" });
      await page.close();
    });

    await t.step("search hits show the match in context and jump to the turn", async () => {
      await using server = viewer(["mixed_traffic.jsonl", "sample_traffic.jsonl"]);
      const page = await context.newPage();
      await page.setViewportSize({ width: 1500, height: 900 });
      await page.goto(server.url);
      // The sessions table fits the sidebar: no cell of the last columns is cut.
      await page.locator("table.sessions tbody tr").nth(1).waitFor();
      const cut = await page.evaluate(`(() => {
        const side = document.querySelector("nav.side").getBoundingClientRect();
        return [...document.querySelectorAll("table.sessions td:nth-child(n+4)")]
          .filter((td) => td.scrollWidth > td.clientWidth ||
            td.getBoundingClientRect().right > side.right)
          .map((td) => td.textContent);
      })()`);
      assert.deepEqual(cut, []);
      await page.fill("#search", "IS_PRIME");
      const hit = page.locator("button.hit").first();
      await hit.waitFor();
      assert.equal(await hit.locator(".snip mark").innerText(), "is_prime");
      assert.match(await hit.locator(".snip").innerText(), /def is_prime/);
      const index = (await hit.locator(".hitwhere b").innerText()).slice(1);
      await hit.click();
      await page.locator(".turn.sel .dhead h2", { hasText: `#${index} ` }).waitFor();
      await page.close();
    });

    await t.step(
      "a changed system prompt is shown as a line diff (jsdiff, in the page)",
      async () => {
        await using server = viewer(["viewer_threads_traffic.jsonl"]);
        const page = await context.newPage();
        await page.goto(server.url);
        await page.locator(".turns .row", { hasText: "#5" }).click();
        await page.locator(".dhead h2", { hasText: "#5 " }).waitFor();
        const diff = page.locator("details.sys.changed pre.diff");
        await diff.evaluate((e) => e.closest("details")!.setAttribute("open", ""));
        assert.match(await diff.locator(".del").innerText(), /^- Guideline 3: keep answers short/);
        assert.match(
          await diff.locator(".add").innerText(),
          /^\+ Today is 2026-12-04\. Guideline 3/,
        );
        assert.match(await diff.locator(".fold").first().innerText(), /… \d+ unchanged lines/);
        // Within the changed line, the words that changed (jsdiff's word diff).
        assert.deepEqual(await diff.locator(".add mark").allInnerTexts(), [
          "Today is 2026-12-04. ",
        ]);
        assert.equal(await diff.locator(".del mark").count(), 0, "nothing was taken out");
        // The Task call in the chat leads to the subagent's thread.
        await page.locator("button.subagent").first().click();
        await page.locator("button.conv.sel", { hasText: "Find where the CSV parser" }).waitFor();
        await page.locator(".convhead .muted", { hasText: "subagent of conversation" }).waitFor();
        await page.close();
      },
    );

    await t.step("] and [ move between the conversations of the open session", async () => {
      await using server = viewer(["sample_traffic.jsonl", "viewer_threads_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator("table.sessions tbody tr").nth(1).click();
      await page.locator("button.conv.sel", { hasText: "Why does the parser drop" }).waitFor();
      await page.keyboard.press("]");
      await page.locator("button.conv.sel", { hasText: "Find where the CSV parser" }).waitFor();
      await page.locator(".turn.sel .dhead").waitFor();
      // Still the second session (the threads capture, started on 05-28).
      const selected = await page.locator("table.sessions tbody tr.sel td").nth(1).innerText();
      assert.match(selected, /^05-28/);
      await page.keyboard.press("[");
      await page.locator("button.conv.sel", { hasText: "Why does the parser drop" }).waitFor();
      await page.close();
    });

    await t.step("a changed tool definition is shown as a line diff", async () => {
      // The sample with the shell tool's description and parameters changed in its third call.
      await using server = viewer(["viewer_tool_change_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator(".turns .row", { hasText: "#3" }).click();
      const tools = page.locator(".turn.sel details.sys.changed", { hasText: "Tools (2)" });
      assert.match(await tools.locator("summary").innerText(), /changed shell/);
      await tools.evaluate((e) => e.setAttribute("open", ""));
      const diff = tools.locator(".tooldiff pre.diff");
      assert.match(await diff.locator(".del").first().innerText(), /Run a shell command and/);
      assert.match(await diff.locator(".add").first().innerText(), /in the sandbox/);
      assert.match(await diff.locator(".add").last().innerText(), /kill after this many ms/);
      const words = await diff.locator(".add mark, .del mark").allInnerTexts();
      assert.ok(words.includes("in the sandbox "), JSON.stringify(words));
      assert.ok(words.includes("number") && words.includes("integer"), JSON.stringify(words));
      await page.close();
    });

    await t.step("a hostile capture executes nothing", async () => {
      await using server = viewer(["hostile_traffic.jsonl", "hostile_view_traffic.jsonl"]);
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        d.dismiss();
      });
      await page.goto(server.url);
      await page.locator("table.sessions tbody tr").nth(1).click();
      await page.locator(".dhead h2", { hasText: "anthropic" }).waitFor();
      await page.keyboard.press("f");
      for (const sel of ["details"]) {
        for (const d of await page.locator(sel).all()) {
          await d.evaluate((e) => e.setAttribute("open", ""));
        }
      }
      await page.waitForTimeout(300);
      const text = await page.locator("#app").innerText();
      assert.ok(
        text.includes('<img src=x onerror=alert(2)><a href="javascript:alert(3)">'),
        "as text",
      );
      assert.ok(!text.includes("HOSTILEKEY"), "the key is redacted");
      const dom = await page.evaluate(`({
        scripts: [...document.scripts].map((s) => s.getAttribute("src")),
        handlers: [...document.querySelectorAll("*")].flatMap((e) =>
          [...e.attributes].filter((a) => a.name.startsWith("on")).map((a) => a.name)
        ),
        js: document.querySelectorAll("[href^='javascript' i], [src^='javascript' i]").length,
        imgs: document.querySelectorAll("img, iframe, object, embed, svg").length,
      })`);
      assert.deepEqual(dom, { scripts: ["app.js"], handlers: [], js: 0, imgs: 0 });
      assert.deepEqual(dialogs, []);
      await page.close();
    });

    await t.step("a long conversation: r and j after scrolling away from the turn", async () => {
      // 40 turns: the chat draws only those near its scroll position.
      const dir = await Deno.makeTempDir({ prefix: "probe-view-long-" });
      await writeCapture(`${dir}/long.jsonl`, { seed: 3, turns: 40, format: "mixed", sessions: 1 });
      await using server = startViewer({
        paths: [`${dir}/long.jsonl`],
        targets: builtinTargets,
        renderers: builtinRenderers,
        prices: builtinPriceTable(),
        follow: false,
      });
      const page = await context.newPage();
      try {
        await page.goto(server.url);
        await page.locator(".turns .row", { hasText: "#3" }).first().click();
        await page.locator(".turn.sel .dhead h2", { hasText: "#3 " }).waitFor();
        // Scrolled until the selected turn is no longer drawn (the chat may still be settling
        // its scroll to the selected turn, a loaded machine's frames late).
        await until(
          page,
          `(() => {
          const chat = document.querySelector(".detail");
          chat.scrollTop = chat.scrollHeight / 2;
          return !document.querySelector(".turn.sel");
        })()`,
          "the selected turn scrolled away",
        );
        // r: back to the selected turn, its raw request open and on screen.
        await page.keyboard.press("r");
        const raw = page.locator(".turn.sel details.raw-request[open]");
        await raw.waitFor();
        await until(
          page,
          `(() => {
          const r = document.querySelector(".turn.sel .raw-request").getBoundingClientRect();
          const d = document.querySelector(".detail").getBoundingClientRect();
          return r.top >= d.top - 1 && r.top < d.bottom;
        })()`,
          "the raw request on screen",
        );
        assert.match(await page.locator(".turn.sel .dhead h2").innerText(), /^#3 /);
        // j after scrolling far down: the turn being read is selected, not #4.
        await page.locator(".detail").evaluate((e) => e.scrollTop = e.scrollHeight * 0.6);
        const inView = `(() => {
          const n = Number(document.querySelector(".turns .row.inview b")?.textContent?.slice(1));
          return !document.querySelector(".turn.sel") && n > 10 ? n : 0;
        })()`;
        // The turn in view once the chat has settled (the same two reads 300 ms apart).
        let reading = 0;
        for (let seen = -1; seen !== reading;) {
          seen = reading;
          await page.waitForTimeout(300);
          reading = await until<number>(page, inView, "a turn far down in view");
        }
        assert.ok(reading > 10, `the turn in view is #${reading}`);
        await page.keyboard.press("j");
        await page.locator(".turn.sel .dhead h2", { hasText: `#${reading} ` }).waitFor();
      } finally {
        await page.close();
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("an 800 px window: nothing cut, the sessions open from ☰", async () => {
      await using server = viewer(["sample_traffic.jsonl", "viewer_threads_traffic.jsonl"]);
      const page = await context.newPage();
      await page.setViewportSize({ width: 800, height: 900 });
      await page.goto(server.url);
      await page.locator(".turn.sel .response .blocks").waitFor();
      const fits = await page.evaluate(`(() => {
        const chat = document.querySelector(".detail").getBoundingClientRect();
        return { page: document.documentElement.scrollWidth, chatRight: chat.right,
          chatWidth: chat.width };
      })()`) as { page: number; chatRight: number; chatWidth: number };
      assert.ok(fits.page <= 800, `page ${fits.page} px wide`);
      assert.ok(fits.chatRight <= 800 && fits.chatWidth >= 400, JSON.stringify(fits));
      assert.equal(await page.locator("nav.side").isVisible(), false);
      await page.locator("header .menu").click();
      // Each capture is named by its file.
      const names = await page.locator("table.sessions td.capture .cname").allInnerTexts();
      assert.deepEqual(names, ["sample_traffic", "viewer_threads_traffic"]);
      await page.locator("table.sessions tbody tr").nth(1).click();
      await page.locator("nav.side").waitFor({ state: "hidden" });
      await page.locator(".convhead h1", { hasText: "Why does the parser drop" }).waitFor();
      // Search results show although the column is folded away.
      await page.fill("#search", "is_prime");
      await page.locator("button.hit").first().waitFor({ state: "visible" });
      await page.close();
    });

    await t.step("a WebSocket session's turns are chat turns", async () => {
      // Codex's WebSocket session: one exchange carrying a prewarm and two generating turns.
      await using server = viewer(["ws_codex_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator(".convhead h1", { hasText: "Run the echo tool once" }).waitFor();
      const rows = page.locator(".turns .row b");
      await rows.nth(1).waitFor();
      assert.deepEqual(await rows.allInnerTexts(), ["#1.2", "#1.3"]);
      await page.locator(".turn.sel .dhead h2", { hasText: "#1.2 GET" }).waitFor();
      // The second turn: the tool's result is its new input, the answer its response.
      await page.keyboard.press("j");
      await page.locator(".turn.sel .dhead h2", { hasText: "#1.3 GET" }).waitFor();
      await page.locator(".turn.sel", { hasText: "probe-ws-tool-ran" }).first().waitFor();
      await page.locator(".turn.sel .response", { hasText: "FAKE WS ANSWER" }).first().waitFor();
      assert.equal(await page.locator("button.other").count(), 0, "no other exchange");
      await page.close();
    });

    await t.step("exchanges that are no model turn are listed and open", async () => {
      await using server = viewer(["mixed_traffic.jsonl", "ws_codex_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      // The four-API capture's HEAD request, listed beside its conversations.
      await page.locator(".turn.sel .dhead").waitFor();
      const others = await page.locator("button.other").allInnerTexts();
      assert.deepEqual(others.map((x) => x.split(/\s+/).join(" ")), ["#1 HEAD / 200"]);
      await page.locator("button.other", { hasText: "#1" }).click();
      await page.locator(".detail .dhead h2", { hasText: "#1 HEAD" }).waitFor();
      await page.keyboard.press("R");
      await page.locator(".detail details.raw-response[open]").waitFor();
      // A search hit in the WebSocket exchange opens its conversation.
      await page.fill("#search", "prewarm");
      await page.locator("button.hit").first().click();
      await page.locator(".convhead h1", { hasText: "Run the echo tool once" }).waitFor();
      await page.close();
    });

    await t.step("a capture cannot reorder, hide or restyle what is shown", async () => {
      // Bidi overrides and isolates, zero-width characters and terminal escapes in a tool's
      // name, a model, a call id, the prompt and the answer; a role naming the page's classes.
      await using server = viewer(["hostile_names_traffic.jsonl"]);
      const page = await context.newPage();
      await page.goto(server.url);
      await page.locator(".turn.sel .dhead").waitFor();
      await page.keyboard.press("f");
      await page.locator(".reqhead h3", { hasText: "all 3 items" }).waitFor();
      for (const d of await page.locator("details").all()) {
        await d.evaluate((e) => e.setAttribute("open", ""));
      }
      const text = await page.locator("#app").innerText();
      // deno-lint-ignore no-control-regex -- the escape and bell must not reach the page raw
      assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069\u200b\u001b\u0007]/);
      for (
        const shown of [
          "run⟨U+202E⟩txt.exe",
          "claude⟨U+200B⟩-x",
          "tu⟨U+200B⟩1",
          "abc⟨U+202E⟩dcba",
          "␛]0;title␇",
          "⟨U+202E⟩exe.txt⟨U+202C⟩",
        ]
      ) assert.ok(text.includes(shown), shown);
      assert.ok(!text.includes("NAMESKEY"), "the key is redacted");
      const dom = await page.evaluate(`({
        overlays: document.querySelectorAll(".helpback, .help").length,
        classes: [...new Set([...document.querySelectorAll(".msg")].flatMap((e) =>
          [...e.classList]))].sort(),
      })`);
      assert.deepEqual(dom, {
        overlays: 0,
        classes: ["assistant", "msg", "other", "response", "text", "tool_call"],
      });
      await page.close();
    });
  } finally {
    await browser?.close();
  }
});
