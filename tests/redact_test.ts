import assert from "node:assert/strict";
import {
  headerRedactor,
  JSON_SCHEMA_KEYWORDS,
  JSON_SCHEMA_TYPES,
  KEY_SHAPES_SOURCE,
  maskEmbeddedFields,
  maskFormSecrets,
  maskKeyShapes,
  maskSecretFields,
  maskTextSecrets,
  redactionPolicy,
  redactUrl,
  SECRET_NAMES,
  SECRET_OBJECT_NAMES,
} from "../lib/redact.ts";
import { maskStreamText } from "../lib/redact_split.ts";

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
    // A signed URL's signature, in any cloud's spelling; other names match whole.
    [
      "https://s3/b/o?X-Amz-Signature=abc&X-Goog-Signature=def&zipcode=1&pageToken=p",
      "https://s3/b/o?X-Amz-Signature=[REDACTED]&X-Goog-Signature=[REDACTED]&zipcode=1&pageToken=p",
    ],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => assert.equal(redactUrl(input), want));
  }
});

Deno.test("maskKeyShapes masks well-known key shapes anywhere in text", async (t) => {
  for (
    const key of [
      "sk-proj-abcdefghijklmnopqrstuvwx",
      "sk-ant-api03-abcdefghijklmnopqrstuv",
      "sk-abcdefghijklmnopqrstuvwxyz",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "gho_abcdefghijklmnopqrstuvwxyz0123456789",
      "github_pat_11ABCDEFG0123456789_abcdefghij",
      "AKIAABCDEFGHIJKLMNOP",
      "AIzaSyA-abcdefghijklmnopqrstuvwxyz01234",
      "xoxb-123456789012-abcdef",
      "xoxp-123456789012-abcdef",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop",
      // Other model APIs' and registries' keys, as an agent reads them from a .env file.
      "gsk_abcdefghijklmnopqrstuvwxyz0123456789",
      "xai-abcdefghijklmnopqrstuvwxyz0123456789",
      "hf_abcdefghijklmnopqrstuvwxyz01234567",
      "glpat-abcdefghij0123456789",
      "sk_live_abcdefghijklmnopqrstuvwx",
      "rk_live_abcdefghijklmnopqrstuvwx",
      "npm_abcdefghijklmnopqrstuvwxyz0123456789",
      "ya29.a0AfH6SMBabcdefghijklmnopqrstuvwxyz",
    ]
  ) {
    await t.step(key.slice(0, 12), () => {
      assert.equal(maskKeyShapes(`a ${key} b`), "a [REDACTED] b");
      assert.equal(maskKeyShapes(`"x\\n${key}"`), `"x\\n[REDACTED]"`);
    });
  }
  await t.step("look-alikes stay", () => {
    for (
      const text of [
        "task-abcdefghijklmnopqrstuvwxyz",
        "sk-short",
        "input_tokens",
        "AKIA123",
        "ask_live_abcdefghijklmnopqrstuvwx",
        "proxai-abcdefghijklmnopqrstuvwxyz0123456789",
        "thf_abcdefghijklmnopqrstuvwxyz01234567",
        "task-proj-management-dashboard-v",
        "desk-ant-colony-simulation-project",
        "risk-admin-approval-workflow-steps",
      ]
    ) {
      assert.equal(maskKeyShapes(text), text);
    }
  });
  await t.step("OpenAI's and Anthropic's own prefixes right after a word (deltas joined)", () => {
    for (
      const key of [
        "sk-proj-PLANTEDa1abcdefghijklmnopqrstuv",
        "sk-svcacct-abcdefghijklmnopqrstuv0123",
        "sk-ant-api03-abcdefghijklmnopqrstuv",
        "sk-ant-oat01-abcdefghijklmnopqrstuv",
      ]
    ) {
      assert.equal(maskKeyShapes(`my token${key} end`), "my token[REDACTED] end");
    }
  });
});

Deno.test("secret names match in snake, camel and kebab spelling everywhere", async (t) => {
  await t.step("JSON fields", () => {
    assert.deepEqual(
      maskSecretFields({
        password: "p",
        refreshToken: "r",
        "id-token": "i",
        ClientSecret: "c",
        access_token: "a",
        max_tokens: 3,
      }),
      {
        password: "[REDACTED]",
        refreshToken: "[REDACTED]",
        "id-token": "[REDACTED]",
        ClientSecret: "[REDACTED]",
        access_token: "[REDACTED]",
        max_tokens: 3,
      },
    );
  });
  await t.step("form bodies, query strings and headers", () => {
    assert.equal(
      maskFormSecrets("grant_type=x&clientSecret=c&password=p&client_id=a"),
      "grant_type=x&clientSecret=[REDACTED]&password=[REDACTED]&client_id=a",
    );
    assert.equal(
      redactUrl("https://x/a?accessToken=t&alt=sse&refresh-token=r"),
      "https://x/a?accessToken=[REDACTED]&alt=sse&refresh-token=[REDACTED]",
    );
    assert.deepEqual(headerRedactor([])({ "X-Refresh-Token": "r", "x-custom": "v" }), {
      "X-Refresh-Token": "[REDACTED]",
      "x-custom": "v",
    });
  });
  await t.step("SSE events and WebSocket messages", () => {
    const sse = 'event: t\ndata: {"type":"t","accessToken":"a1"}\n\ndata: [DONE]\n\n';
    assert.equal(
      maskTextSecrets(sse),
      'event: t\ndata: {"type":"t","accessToken":"[REDACTED]"}\n\ndata: [DONE]\n\n',
    );
    assert.equal(
      maskTextSecrets('{"type":"session.update","client_secret":"s"}'),
      '{"type":"session.update","client_secret":"[REDACTED]"}',
    );
  });
});

Deno.test("a name that ends with a secret name is one (OPENAI_API_KEY, X-Api-Key, ...)", async (t) => {
  // Real shapes: an MCP server's OAuth token in an OpenAI Responses tool (`authorization`) and
  // in an Anthropic request (`mcp_servers[].authorization_token`), headers handed to a tool,
  // environment variables in a tool call, a cloud SDK's config.
  const body = {
    tools: [{ type: "mcp", server_url: "https://m", authorization: "oauth-1" }],
    mcp_servers: [{ url: "https://m", authorization_token: "oauth-2" }],
    arguments: {
      headers: {
        "X-Api-Key": "hk-1",
        Authorization: "Bearer bt-1",
        "Ocp-Apim-Subscription-Key": "az-1",
      },
      env: { OPENAI_API_KEY: "ek-1", AWS_SECRET_ACCESS_KEY: "ek-2", GITHUB_ACCESS_TOKEN: "ek-3" },
      config: {
        secret_key: "sk-1x",
        api_secret: "as-1",
        aws_session_token: "st-1",
        passphrase: "pp",
      },
    },
    max_tokens: 5,
    input_tokens: 7,
    prompt_cache_key: "conversation-1",
    thoughtSignature: "sig-1",
  };
  const secrets = ["oauth-1", "oauth-2", "hk-1", "bt-1", "az-1", "ek-1", "ek-2", "ek-3", "sk-1x"]
    .concat(["as-1", "st-1", "pp"]);
  await t.step("JSON fields at any depth", () => {
    const text = JSON.stringify(maskSecretFields(body));
    for (const s of secrets) assert.ok(!text.includes(`"${s}"`), `${s} in ${text}`);
    for (const kept of ['"max_tokens":5', '"input_tokens":7', "conversation-1", "sig-1"]) {
      assert.ok(text.includes(kept), kept);
    }
  });
  await t.step("SSE events, WebSocket messages, form bodies, query strings, headers", () => {
    assert.ok(!maskTextSecrets(`data: ${JSON.stringify(body)}\n\n`).includes("ek-1"));
    assert.ok(!maskTextSecrets(JSON.stringify(body)).includes("oauth-2"));
    assert.equal(maskFormSecrets("openai_api_key=f-1&a=b"), "openai_api_key=[REDACTED]&a=b");
    assert.equal(
      redactUrl("https://x/a?goog_api_key=q-1&x-amz-security-token=q-2&alt=sse"),
      "https://x/a?goog_api_key=[REDACTED]&x-amz-security-token=[REDACTED]&alt=sse",
    );
    assert.deepEqual(
      headerRedactor([])({ "Ocp-Apim-Subscription-Key": "h-1", "X-Api-Version": "2" }),
      { "Ocp-Apim-Subscription-Key": "[REDACTED]", "X-Api-Version": "2" },
    );
  });
});

Deno.test("redactUrl masks a password in the URL's login", () => {
  assert.equal(
    redactUrl("https://me:hunter2pass@api.example.com/v1/x?a=1"),
    "https://me:[REDACTED]@api.example.com/v1/x?a=1",
  );
  assert.equal(redactUrl("https://api.example.com/a:b@c"), "https://api.example.com/a:b@c");
});

Deno.test("redactionPolicy hands the addon exactly these lists", () => {
  const policy = redactionPolicy(["OpenAI-Organization"]);
  assert.ok(policy.headers.includes("openai-organization"));
  assert.ok(policy.headers.includes("authorization"));
  assert.deepEqual(policy.secretNames, [...SECRET_NAMES]);
  assert.equal(policy.keyShapes, KEY_SHAPES_SOURCE);
});

Deno.test("maskEmbeddedFields masks JSON written two levels deep (a file a tool call writes)", () => {
  const file = JSON.stringify({ db_password: "pw-deep", apiKey: 'k"deep', user: "me" });
  const args = JSON.stringify({ path: "config.json", content: file });
  const masked = maskEmbeddedFields(args);
  assert.deepEqual(JSON.parse(JSON.parse(masked).content), {
    db_password: "[REDACTED]",
    apiKey: "[REDACTED]",
    user: "me",
  });
  const plain = '{"content": "a \\"quoted\\" word", "n": 1}';
  assert.equal(maskEmbeddedFields(plain), plain);
});

Deno.test("api tokens and names ending with secret are secret names", () => {
  assert.deepEqual(
    maskSecretFields({ api_token: "t-1", webhook_secret: "w-1", GITHUB_WEBHOOK_SECRET: "g-1" }),
    { api_token: "[REDACTED]", webhook_secret: "[REDACTED]", GITHUB_WEBHOOK_SECRET: "[REDACTED]" },
  );
  assert.equal(
    headerRedactor([])({ "x-api-token": "h-1" })["x-api-token"],
    "[REDACTED]",
  );
});

Deno.test("each capture's policy keys its fingerprints: random, or from a passphrase", () => {
  const a = redactionPolicy([]).fingerprintKey;
  const b = redactionPolicy([]).fingerprintKey;
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.notEqual(a, b);
  assert.equal(redactionPolicy([], "pass").fingerprintKey, "70617373");
});

Deno.test("a secret name's object is masked unless it is a JSON Schema (as the addon decides)", async (t) => {
  // A tool's parameters: every key a JSON Schema keyword, `type` a schema type (Gemini writes
  // them upper-case).
  const params = {
    type: "object",
    properties: {
      password: { type: "string", description: "The user's password" },
      api_key: { anyOf: [{ type: "string" }, { type: "null" }], "x-order": 1 },
      client_secret: { description: "any value" },
      credentials: { type: "OBJECT", properties: { user: { type: "STRING" } } },
    },
  };
  const body = {
    authorization: { type: "bearer", token: "tok-1" },
    password: { type: "string", value: "pw-2" },
    client_secret: { primary: { key: "cs-3" } },
    api_key: [{ key: "ak-4" }],
    credentials: { primary: { key: "cr-5" } },
    awsCredentials: [["cr-6"]],
    fetch: { credentials: "include", secret: { enabled: true } },
    tools: [{ name: "login", parameters: params }],
  };
  const want = {
    authorization: "[REDACTED]",
    password: "[REDACTED]",
    client_secret: "[REDACTED]",
    api_key: "[REDACTED]",
    credentials: "[REDACTED]",
    awsCredentials: "[REDACTED]",
    fetch: body.fetch,
    tools: body.tools,
  };
  await t.step("a JSON body", () => assert.deepEqual(maskSecretFields(body), want));
  await t.step("an SSE event", () => {
    const masked = maskTextSecrets(`event: e\ndata: ${JSON.stringify(body)}\n\n`);
    assert.deepEqual(JSON.parse(masked.split("\n")[1].slice(6)), want);
  });
  await t.step("the addon is handed the same lists", () => {
    const policy = redactionPolicy([]);
    assert.deepEqual(policy.secretObjectNames, [...SECRET_OBJECT_NAMES]);
    assert.deepEqual(policy.schemaKeywords, [...JSON_SCHEMA_KEYWORDS]);
    assert.deepEqual(policy.schemaTypes, [...JSON_SCHEMA_TYPES]);
  });
});

Deno.test("a secret name's object in JSON written in a string is masked (as the addon does)", () => {
  // A tool call's arguments are JSON text: their objects are masked as a body's are.
  const args = {
    authorization: { type: "bearer", token: "tok-e" },
    credentials: { primary: { key: "cr-e" } },
    fetch: { credentials: "include" },
    schema: { password: { type: "string", description: "kept" } },
    note: 'a "quoted} { word',
  };
  const want = { ...args, authorization: "[REDACTED]", credentials: "[REDACTED]" };
  // And a level down: a file's JSON that the arguments write.
  const masked = maskSecretFields({
    arguments: JSON.stringify(args),
    write: JSON.stringify({ content: JSON.stringify(args) }),
  }) as { arguments: string; write: string };
  assert.deepEqual(JSON.parse(masked.arguments), want);
  assert.deepEqual(JSON.parse(JSON.parse(masked.write).content), want);
  // And streamed in pieces, cut inside the object.
  const text = JSON.stringify(args);
  const cut = text.indexOf("tok-e") - 3;
  const body = [text.slice(0, cut), text.slice(cut)]
    .map((a) => `data: ${JSON.stringify({ index: 0, arguments: a })}\n\n`).join("");
  const streamed = maskStreamText(body).split("\n").filter((l) => l.startsWith("data: "))
    .map((l) => JSON.parse(l.slice(6)).arguments).join("");
  assert.deepEqual(JSON.parse(streamed), want);
});
