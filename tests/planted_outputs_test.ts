/**
 * Planted secrets in the outputs tests/secret_audit_test.ts does not reach: the viewer's JSON
 * API (the page's data, each turn's raw request and response and its cURL command, search) and
 * OTLP spans with `--otlp-content`. The capture is a `--keep-secrets` one (tests/tools/
 * planted_capture.ts), so each output must mask every planted secret by itself.
 */
import assert from "node:assert/strict";
import { builtinPriceTable } from "../renderers/prices.ts";
import { otlpExportCommand, targetHeaders } from "../lib/otlp/command.ts";
import { extraRedactions } from "../lib/recognize.ts";
import { startViewer } from "../lib/view/server.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";
import { leaksIn, NEEDLES, plantedEntries, writePlantedCapture } from "./tools/planted_capture.ts";

async function plantedFile(): Promise<{ file: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "probe-planted-" });
  const file = `${dir}/traffic.jsonl`;
  await writePlantedCapture(file);
  // The fixture must carry every planted secret raw, or the checks below prove nothing (the
  // proxy password only inside its base64 Basic credential).
  assert.deepEqual(
    leaksIn(await Deno.readTextFile(file)),
    NEEDLES.map(([n]) => n).filter((n) => n !== "proxy-authorization"),
  );
  return { file, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("probe view: no planted secret reaches the page's JSON API", async (t) => {
  await using capture = await plantedFile();
  // No --target: every known agent's extra headers are masked, as in analyze.
  await using server = startViewer({
    paths: [capture.file],
    targets: builtinTargets,
    renderers: builtinRenderers,
    prices: builtinPriceTable(),
    follow: false,
  });
  const get = async (path: string) => {
    const res = await fetch(`${server.url}${path}`);
    const text = await res.text();
    assert.equal(res.status, 200, `${path}: ${text}`);
    return text;
  };
  let sessions;
  do sessions = JSON.parse(await get("api/sessions")); while (sessions.sessions[0].indexing);
  const entries = plantedEntries().length;

  await t.step("sessions, state and every conversation", async () => {
    const state = await get("api/state");
    assert.deepEqual(leaksIn(await get("api/sessions")), []);
    assert.deepEqual(leaksIn(state), []);
    const ids: number[] = JSON.parse(state).session.conversations.map((c: { id: number }) => c.id);
    assert.ok(ids.length > 0);
    for (const c of ids) {
      assert.deepEqual(leaksIn(await get(`api/session?s=1&c=${c}`)), [], `c=${c}`);
    }
  });

  await t.step(
    "each turn: items, system prompt, response, raw request/response, cURL",
    async () => {
      for (let i = 1; i <= entries; i++) {
        const text = await get(`api/turn?s=1&i=${i}&prev=${i - 1}`);
        const detail = JSON.parse(text);
        // The turn is there (a 404 or an empty detail would pass the leak check for nothing).
        assert.equal(detail.index, i);
        assert.ok(detail.raw.request.length > 0 && detail.curl.startsWith("curl -X "));
        assert.deepEqual(leaksIn(text), [], `turn ${i}`);
        assert.deepEqual(leaksIn(detail.curl), [], `turn ${i} cURL`);
      }
      // What was masked is still shown as masked, not dropped.
      const first = JSON.parse(await get("api/turn?s=1&i=1&prev=0"));
      assert.match(first.curl, /-H 'authorization: Bearer \[REDACTED/i);
      assert.match(first.raw.request, /openai-organization: \[REDACTED/);
    },
  );

  await t.step("search finds no exchange by a secret's text", async () => {
    for (const [name, value] of NEEDLES) {
      const q = encodeURIComponent(value.slice(0, 24).toLowerCase());
      const hits = JSON.parse(await get(`api/search?q=${q}`)).hits;
      assert.deepEqual(hits, [], `search for ${name}`);
    }
    // Search itself works on what the page shows, and what a hit says of its exchange (any
    // text around the match) is as masked as the rest.
    assert.ok(JSON.parse(await get("api/search?q=audit%20me")).hits.length > 0);
    for (const q of ["grant_type", "my keys", "system prompt", "gh=", "plain answer", "streamed"]) {
      const text = await get(`api/search?q=${encodeURIComponent(q)}`);
      assert.ok(JSON.parse(text).hits.length > 0, q);
      assert.deepEqual(leaksIn(text), [], `search for ${q}`);
    }
  });
});

/** An OTLP/HTTP endpoint that keeps the JSON bodies it is sent. */
function receiver(): { url: string; bodies: string[] } & AsyncDisposable {
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const raw = req.headers.get("content-encoding") === "gzip"
      ? req.body!.pipeThrough(new DecompressionStream("gzip"))
      : req.body!;
    bodies.push(await new Response(raw).text());
    return Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    bodies,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("probe export --otlp --otlp-content: no planted secret reaches a span", async (t) => {
  await using capture = await plantedFile();
  for (const target of [undefined, builtinTargets.find((x) => x.name === "codex")!]) {
    await t.step(`--target ${target?.name ?? "(none)"}`, async () => {
      await using collector = receiver();
      const printed: string[] = [];
      await otlpExportCommand({
        url: collector.url,
        input: capture.file,
        content: true,
        ...(target ? { target } : {}),
        targets: builtinTargets,
        renderers: builtinRenderers,
        print: (l) => printed.push(l),
        warn: (l) => printed.push(l),
      });
      const sent = collector.bodies.join("\n");
      // Content is there: the prompt and the answer the masking leaves.
      assert.match(sent, /audit me/);
      assert.match(sent, /AUDIT ANSWER/);
      assert.match(sent, /\[REDACTED/);
      assert.deepEqual(leaksIn(sent), []);
      assert.deepEqual(leaksIn(printed.join("\n")), []);
    });
  }
});

Deno.test("export --otlp masks the extra headers analyze and export --har mask", () => {
  const codex = builtinTargets.find((x) => x.name === "codex")!;
  // Without --target: every known agent's (main.ts hands analyze and --har the same list).
  const none = targetHeaders(undefined, builtinTargets);
  assert.deepEqual(none.redactHeaders, extraRedactions(undefined, builtinTargets));
  for (const t of builtinTargets) {
    for (const h of t.redactedHeaders) assert.ok(none.redactHeaders.includes(h.toLowerCase()), h);
  }
  assert.deepEqual(targetHeaders(codex, builtinTargets).redactHeaders, codex.redactedHeaders);
});
