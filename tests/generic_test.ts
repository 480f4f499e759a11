import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Block, RenderedBody, ResponseView } from "../lib/types.ts";
import { parseSse } from "../lib/sse.ts";
import { generic, readApiError, statusLine } from "../renderers/generic.ts";
import {
  isFormEncoded,
  isMasked,
  maskFormSecrets,
  maskSecretFields,
  SECRET_MASK,
} from "../lib/redact.ts";
import { codeTexts, entryFor } from "./tools/render_helpers.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

const anyEntry = entryFor("https://api.openai.com/v1/models", "GET");

function respond(body: unknown, status = 200, contentType = "application/json"): RenderedBody {
  const view: ResponseView = { kind: "plain", status, contentType, body };
  return generic.renderResponse(view, anyEntry);
}

/** Every string a reader would see in the blocks. */
function visibleText(blocks: Block[]): string {
  return JSON.stringify(blocks);
}

// ---------------------------------------------------------------------------------------------

Deno.test("maskSecretFields masks credentials at any depth", async (t) => {
  await t.step("known keys, any case or separator", () => {
    assertEquals(
      maskSecretFields({
        access_token: "ya29.abc",
        refreshToken: "1//xyz",
        nested: [{ id_token: "eyJ.a.b", "client-secret": "s3cret", api_key: "AIza", n: 1 }],
        apiKey: 12345,
        password: "hunter2",
        keep: "visible",
      }),
      {
        access_token: SECRET_MASK,
        refreshToken: SECRET_MASK,
        nested: [{
          id_token: SECRET_MASK,
          "client-secret": SECRET_MASK,
          api_key: SECRET_MASK,
          n: 1,
        }],
        apiKey: SECRET_MASK,
        password: SECRET_MASK,
        keep: "visible",
      },
    );
  });

  await t.step("`code` only in OAuth-looking objects", () => {
    assertEquals(
      maskSecretFields({ grant_type: "authorization_code", code: "4/0Ab", code_verifier: "v" }),
      { grant_type: "authorization_code", code: SECRET_MASK, code_verifier: SECRET_MASK },
    );
    assertEquals(maskSecretFields({ error: { code: 400, message: "bad" } }), {
      error: { code: 400, message: "bad" },
    });
  });

  await t.step("already-redacted values, null, booleans and empty containers are kept", () => {
    const kept = {
      access_token: "[REDACTED:1a2b3c4d]",
      refresh_token: null,
      id_token: false,
      api_key: {},
      password: [],
    };
    assertEquals(maskSecretFields(kept), kept);
    // A secret name's list or object of plain values is the secret (`{"value": "…"}`).
    assertEquals(
      maskSecretFields({ password: ["p-1"], client_secret: { value: "s-1" }, note: ["n"] }),
      { password: SECRET_MASK, client_secret: SECRET_MASK, note: ["n"] },
    );
    // A tool's JSON Schema names its parameters: `password` there is a definition, kept.
    const schema = { type: "object", properties: { password: { type: "string" } } };
    assertEquals(maskSecretFields(schema), schema);
    assertEquals(maskSecretFields("plain"), "plain");
    assertEquals(maskSecretFields(null), null);
    assert(isMasked("[REDACTED]"));
    assert(!isMasked("REDACTED"));
  });
});

Deno.test("maskFormSecrets masks form-encoded credentials", async (t) => {
  await t.step("token request", () => {
    assertEquals(
      maskFormSecrets(
        "grant_type=authorization_code&code=4%2F0AbC&redirect_uri=http%3A%2F%2Flocalhost" +
          "&client_id=abc.apps&client_secret=GOCSPX-x&code_verifier=verif",
      ),
      "grant_type=authorization_code&code=[REDACTED]&redirect_uri=http%3A%2F%2Flocalhost" +
        "&client_id=abc.apps&client_secret=[REDACTED]&code_verifier=[REDACTED]",
    );
    assertEquals(
      maskFormSecrets("grant_type=refresh_token&refresh_token=1%2F%2Fxyz"),
      "grant_type=refresh_token&refresh_token=[REDACTED]",
    );
  });

  await t.step("already redacted values and non-form text are left alone", () => {
    assertEquals(
      maskFormSecrets("refresh_token=%5BREDACTED%5D&a=1"),
      "refresh_token=%5BREDACTED%5D&a=1",
    );
    assertEquals(maskFormSecrets("code = 5 & more"), "code = 5 & more");
    assert(isFormEncoded("a=1&b=&c"));
    assert(!isFormEncoded('{"a":"b=c"}'));
    assert(!isFormEncoded("hello world"));
  });
});

Deno.test("generic request", async (t) => {
  await t.step("no body", () => {
    assertEquals(generic.renderRequest(null, entryFor("http://h/", "HEAD")), {
      blocks: [{ kind: "paragraph", text: "(no body)" }],
    });
    assertEquals(generic.renderRequest("", anyEntry).blocks, [
      { kind: "paragraph", text: "(no body)" },
    ]);
  });

  await t.step("JSON: keys and pretty JSON with long strings cut", () => {
    const out = generic.renderRequest(
      { model: "claude-x", messages: [{ role: "user", content: "y".repeat(250) }] },
      anyEntry,
    );
    assertEquals(out.blocks, [
      { kind: "fields", rows: [["Keys", "model, messages"]] },
      {
        kind: "code",
        text: JSON.stringify(
          {
            model: "claude-x",
            messages: [{ role: "user", content: `${"y".repeat(200)}… (250 chars)` }],
          },
          null,
          2,
        ),
        lang: "json",
      },
    ]);
  });

  await t.step("OAuth token request, JSON and form-encoded, is masked", () => {
    const json = generic.renderRequest({
      grant_type: "authorization_code",
      code: "ac_SECRETCODE",
      code_verifier: "VERIFIER123",
      client_id: "app_1",
      redirect_uri: "http://localhost:1455/auth/callback",
    }, entryFor("https://auth.openai.com/oauth/token", "POST"));
    const text = visibleText(json.blocks);
    assert(!text.includes("ac_SECRETCODE") && !text.includes("VERIFIER123"), text);
    assert(text.includes("app_1"));
    assertEquals(JSON.parse(codeTexts(json.blocks)[0]).code, "[REDACTED]");

    const form = generic.renderRequest(
      "client_secret=GOCSPX-SECRET&grant_type=refresh_token&refresh_token=1%2F%2F0gREFRESH",
      entryFor("https://oauth2.googleapis.com/token", "POST"),
    );
    assertEquals(form.blocks, [{
      kind: "code",
      text: "client_secret=[REDACTED]&grant_type=refresh_token&refresh_token=[REDACTED]",
      lang: "text",
    }]);
  });

  await t.step("JSON sent as text, arrays and big text", () => {
    assertEquals(generic.renderRequest('{"a":1}', anyEntry).blocks[0], {
      kind: "fields",
      rows: [["Keys", "a"]],
    });
    assertEquals(generic.renderRequest([1, 2], anyEntry).blocks[0], {
      kind: "fields",
      rows: [["JSON array", "2 items"]],
    });
    const big = generic.renderRequest("x".repeat(5000), anyEntry).blocks;
    assertEquals(big[1], {
      kind: "paragraph",
      text: "Showing the first 4000 of 5000 characters.",
    });
    assertEquals(generic.renderRequest(42, anyEntry).blocks, [
      { kind: "code", text: "42", lang: "json" },
    ]);
  });
});

Deno.test("generic response", async (t) => {
  await t.step("HEAD with an empty body", () => {
    assertEquals(respond(null, 200, ""), {
      blocks: [
        { kind: "fields", rows: [["Status", "200 OK"]] },
        { kind: "paragraph", text: "(no body)" },
      ],
    });
  });

  await t.step("OpenAI models list: ids", () => {
    const data = Array.from({ length: 23 }, (_, i) => ({ id: `model-${i}`, object: "model" }));
    const out = respond({ object: "list", data });
    assertEquals(out.blocks, [
      { kind: "fields", rows: [["Status", "200 OK"], ["Content type", "application/json"]] },
      { kind: "heading", text: 'List "data" (23)' },
      {
        kind: "list",
        items: [...data.slice(0, 20).map((m) => m.id), "… 3 more"],
      },
      { kind: "fields", rows: [["object", "list"]] },
    ]);
    assertEquals(out.problems, undefined);
  });

  await t.step("Gemini models list: names", () => {
    const out = respond({
      models: [{ name: "models/gemini-2.5-pro" }, { name: "models/gemini-2.5-flash" }],
      nextPageToken: "tok",
    });
    assertEquals(out.blocks.slice(1), [
      { kind: "heading", text: 'List "models" (2)' },
      { kind: "list", items: ["models/gemini-2.5-pro", "models/gemini-2.5-flash"] },
      { kind: "fields", rows: [["nextPageToken", "tok"]] },
    ]);
  });

  await t.step("count_tokens and countTokens", () => {
    assertEquals(respond({ input_tokens: 1234 }).blocks.slice(1), [
      { kind: "fields", rows: [["Input tokens", "1234"]] },
    ]);
    assertEquals(
      respond({ totalTokens: 77, promptTokensDetails: [{ modality: "TEXT", tokenCount: 77 }] })
        .blocks.slice(1),
      [
        { kind: "fields", rows: [["Total tokens", "77"]] },
        {
          kind: "code",
          text: JSON.stringify(
            { promptTokensDetails: [{ modality: "TEXT", tokenCount: 77 }] },
            null,
            2,
          ),
          lang: "json",
        },
      ],
    );
  });

  await t.step("OAuth token response is masked", () => {
    const out = respond({
      access_token: "ya29.A0SECRET",
      expires_in: 3599,
      refresh_token: "1//0gSECRET",
      scope: "openid",
      token_type: "Bearer",
      id_token: "eyJhbGciOi.SECRET.sig",
    });
    assertEquals(out.blocks.slice(1), [{
      kind: "fields",
      rows: [
        ["access_token", "[REDACTED]"],
        ["expires_in", "3599"],
        ["refresh_token", "[REDACTED]"],
        ["scope", "openid"],
        ["token_type", "Bearer"],
        ["id_token", "[REDACTED]"],
      ],
    }]);
    assert(!visibleText(out.blocks).includes("SECRET"));
    const form = respond("access_token=gho_SECRET&scope=repo&token_type=bearer", 200, "text/plain");
    assertEquals(codeTexts(form.blocks), ["access_token=[REDACTED]&scope=repo&token_type=bearer"]);
  });

  await t.step("nested JSON is pretty-printed, secrets masked, size capped", () => {
    const out = respond({ user: { apiKey: "AIzaSECRET", tier: "free" }, notes: ["a"] });
    assertEquals(codeTexts(out.blocks), [
      JSON.stringify({ user: { apiKey: "[REDACTED]", tier: "free" }, notes: ["a"] }, null, 2),
    ]);
    const items = { items: Array.from({ length: 2000 }, (_, i) => ({ n: i })) };
    const huge = respond(items);
    const size = JSON.stringify(items, null, 2).length;
    assert(size > 8000);
    assertEquals(huge.blocks.slice(-1), [
      { kind: "paragraph", text: `Showing the first 8000 of ${size} characters.` },
    ]);
    assertEquals(codeTexts(huge.blocks)[0].length, 8001); // 8000 + "…"
  });
});

Deno.test("generic error bodies", async (t) => {
  await t.step("OpenAI shape", () => {
    const out = respond({
      error: {
        message: "Incorrect API key provided",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      },
    }, 401);
    assertEquals(out.blocks, [
      {
        kind: "fields",
        rows: [["Status", "401 Unauthorized"], ["Content type", "application/json"]],
      },
      { kind: "heading", text: "API error" },
      {
        kind: "fields",
        rows: [
          ["Type", "invalid_request_error"],
          ["Code", "invalid_api_key"],
          ["Message", "Incorrect API key provided"],
        ],
      },
    ]);
    assertEquals(out.problems, [
      "API error 401: invalid_request_error: Incorrect API key provided",
    ]);
  });

  await t.step("Anthropic shape", () => {
    const out = respond({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
      request_id: "req_1",
    }, 529);
    assertEquals(out.problems, ["API error 529: overloaded_error: Overloaded"]);
    assertEquals(out.blocks[2], {
      kind: "fields",
      rows: [["Type", "overloaded_error"], ["Message", "Overloaded"], ["Request ID", "req_1"]],
    });
  });

  await t.step("Google shape, object and array", () => {
    const google = { error: { code: 404, message: "Not found", status: "NOT_FOUND" } };
    assertEquals(respond(google, 404).problems, ["API error 404: NOT_FOUND: Not found"]);
    assertEquals(respond([google], 404).problems, ["API error 404: NOT_FOUND: Not found"]);
    assertEquals(readApiError(google, 404)?.rows, [
      ["Code", "404"],
      ["Status", "NOT_FOUND"],
      ["Message", "Not found"],
    ]);
  });

  await t.step("OAuth error and {detail}", () => {
    assertEquals(
      respond({ error: "invalid_grant", error_description: "Bad Request" }, 400).problems,
      ["API error 400: invalid_grant: Bad Request"],
    );
    assertEquals(respond({ detail: "Unauthorized" }, 401).problems, [
      "API error 401: Unauthorized",
    ]);
    // A `message` on a 200 is not an error.
    assertEquals(respond({ message: "ok" }).problems, undefined);
  });

  await t.step("statusLine", () => {
    assertEquals(statusLine(426), "426 Upgrade Required");
    assertEquals(statusLine(599), "599");
    assertEquals(statusLine("x"), "x");
  });
});

Deno.test("generic SSE body", async (t) => {
  await t.step("event count table and the first events", () => {
    const text = [1, 2, 3, 4].map((n) => `event: ping\ndata: {"type":"tick","n":${n}}\n\n`)
      .join("") + "data: plain\n\n";
    const view: ResponseView = {
      kind: "sse",
      status: 200,
      contentType: "text/event-stream",
      body: text,
      events: parseSse(text),
    };
    const out = generic.renderResponse(view, anyEntry);
    assertEquals(out.blocks, [
      {
        kind: "fields",
        rows: [["Status", "200 OK"], ["Content type", "text/event-stream"]],
      },
      { kind: "heading", text: "SSE events (5)" },
      { kind: "table", header: ["Event type", "Count"], rows: [["tick", "4"], ["message", "1"]] },
      { kind: "heading", text: "First 3 events" },
      {
        kind: "code",
        text: [1, 2, 3].map((n) => `event: ping\ndata: {"type":"tick","n":${n}}`).join("\n\n"),
        lang: "text",
      },
    ]);
    assertEquals(out.problems, undefined);
  });

  await t.step("a cut-off stream is noted", () => {
    const text = 'data: {"a":1}\n\ndata: {"b"';
    const out = generic.renderResponse(
      {
        kind: "sse",
        status: 200,
        contentType: "text/event-stream",
        body: text,
        events: parseSse(text),
      },
      anyEntry,
    );
    assertEquals(out.blocks[out.blocks.length - 1], {
      kind: "paragraph",
      text: "The stream ends mid-event (cut off).",
    });
  });

  await t.step("odd views do not throw", () => {
    const out = generic.renderResponse(
      { status: "x", contentType: 5, body: undefined } as unknown as ResponseView,
      anyEntry,
    );
    assertEquals(out.blocks, [
      { kind: "fields", rows: [["Status", "x"]] },
      { kind: "paragraph", text: "(no body)" },
    ]);
  });
});
