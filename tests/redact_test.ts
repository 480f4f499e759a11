import assert from "node:assert/strict";
import { headerRedactor, redactUrl } from "../lib/redact.ts";

Deno.test("headerRedactor masks credentials by name", async (t) => {
  const redact = headerRedactor(["OpenAI-Organization"]);
  await t.step("built-in names, any case, keeping the auth scheme", () => {
    assert.deepEqual(
      redact({
        Authorization: "Bearer sk-proj-abc",
        "x-api-key": "sk-ant-api03-xyz",
        "X-Goog-Api-Key": "AIzaSyXXXX",
        "proxy-authorization": "Basic dXNlcjpwYXNz",
        cookie: "a=b",
        "set-cookie": "s=1; HttpOnly",
        "api-key": "azure",
        "content-type": "application/json",
      }),
      {
        Authorization: "Bearer [REDACTED]",
        "x-api-key": "[REDACTED]",
        "X-Goog-Api-Key": "[REDACTED]",
        "proxy-authorization": "Basic [REDACTED]",
        cookie: "[REDACTED]",
        "set-cookie": "[REDACTED]",
        "api-key": "[REDACTED]",
        "content-type": "application/json",
      },
    );
  });
  await t.step("the target's extra names", () => {
    assert.deepEqual(redact({ "openai-organization": "org-1" }), {
      "openai-organization": "[REDACTED]",
    });
    assert.deepEqual(headerRedactor([])({ "openai-organization": "org-1" }), {
      "openai-organization": "org-1",
    });
  });
  await t.step("values the capture already redacted keep their fingerprint", () => {
    assert.deepEqual(
      redact({ authorization: "Bearer [REDACTED:1a2b3c4d]", "x-api-key": "[REDACTED:0f0f0f0f]" }),
      { authorization: "Bearer [REDACTED:1a2b3c4d]", "x-api-key": "[REDACTED:0f0f0f0f]" },
    );
  });
});

Deno.test("redactUrl masks secret query parameters only", async (t) => {
  const cases: [string, string][] = [
    [
      "https://g/v1beta/models/m:streamGenerateContent?alt=sse&key=AIzaSECRET",
      "https://g/v1beta/models/m:streamGenerateContent?alt=sse&key=[REDACTED]",
    ],
    ["https://x/cb?code=abc&state=s", "https://x/cb?code=[REDACTED]&state=s"],
    [
      "https://x/a?api-version=2024-01-01&api-key=k",
      "https://x/a?api-version=2024-01-01&api-key=[REDACTED]",
    ],
    ["https://x/a?access_token=t#frag", "https://x/a?access_token=[REDACTED]#frag"],
    ["https://x/a?Key=v&keyboard=1", "https://x/a?Key=[REDACTED]&keyboard=1"],
    ["https://x/a?key=%5BREDACTED%3A1a2b3c4d%5D", "https://x/a?key=%5BREDACTED%3A1a2b3c4d%5D"],
    ["https://x/a", "https://x/a"],
    ["https://x/a?flag&key", "https://x/a?flag&key"],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => assert.equal(redactUrl(input), want));
  }
});
