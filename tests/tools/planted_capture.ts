/**
 * The planted-secret exchanges (testdata/secrets_planted.json): the parts tests/
 * secret_audit_test.ts sends through real mitmdump, and the same exchanges as a capture that
 * `probe capture --keep-secrets` records (every secret raw), for the outputs that test does not
 * reach (the viewer's API, OTLP spans), which must mask them by themselves as the reports do.
 */
import type { Entry } from "../../lib/types.ts";

export interface Planted {
  name: string;
  /** Where the request or response carries it. */
  where: string;
  value: string;
}

export const PLANTED: Planted[] = JSON.parse(
  await Deno.readTextFile(new URL("../../testdata/secrets_planted.json", import.meta.url)),
).secrets;
/** Planted values by name. */
export const S: Record<string, string> = Object.fromEntries(
  PLANTED.map((p) => [p.name, p.value]),
);
export const PROXY_USER = "probe-audit-user";
export const BASIC = btoa(`${PROXY_USER}:${S["proxy-authorization"]}`);

/** Every string that must not reach an output, by name: the planted values and the Basic one. */
export const NEEDLES: [string, string][] = [
  ...PLANTED.map((p): [string, string] => [p.name, p.value]),
  ["proxy-authorization (base64)", BASIC],
];

/** Names of the needles `text` holds, in NEEDLES order. */
export function leaksIn(text: string): string[] {
  return NEEDLES.filter(([, v]) => text.includes(v)).map(([n]) => n);
}

/** The first model request (plain answer): secrets in headers, the query and a body field. */
export const MODEL_PATH = `/v1/responses?alt=json&key=${S["query-key"]}`;
export const MODEL_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  authorization: `Bearer ${S["authorization"]}`,
  "x-api-key": S["x-api-key"],
  "x-goog-api-key": S["x-goog-api-key"],
  "api-key": S["api-key"],
  cookie: `session=${S["cookie"]}; theme=dark`,
  "proxy-authorization": `Basic ${BASIC}`,
  "openai-organization": S["openai-organization"],
};
export const MODEL_BODY = {
  model: "gpt-audit",
  stream: false,
  input: [{
    role: "user",
    type: "message",
    content: [{
      type: "input_text",
      text: `audit me with ${JSON.stringify({ access_token: S["prompt-config-token"] })}`,
    }],
  }],
  api_key: S["body-api-key"],
};
export const MODEL_ANSWER = {
  id: "resp_audit",
  object: "response",
  model: "gpt-audit",
  status: "completed",
  output: [{
    id: "msg_audit",
    type: "message",
    role: "assistant",
    status: "completed",
    content: [{ type: "output_text", text: "AUDIT ANSWER", annotations: [] }],
  }],
  usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12 },
};
/** The two cookies every answer sets (one Set-Cookie header each). */
export const SET_COOKIES = [
  `sid=${S["set-cookie"]}; Path=/; HttpOnly`,
  `csrf=${S["set-cookie-2"]}; Path=/`,
];

/** The OAuth call: a form body with secret fields, an answer with tokens. */
export const FORM_BODY = `grant_type=refresh_token&refresh_token=${S["form-refresh-token"]}` +
  `&api_key=${S["form-api-key"]}&client_id=app_public&clientSecret=${S["form-clientSecret"]}`;
export const OAUTH_ANSWER = {
  access_token: S["oauth-access-token"],
  refresh_token: S["oauth-refresh-token"],
  token_type: "Bearer",
  expires_in: 3600,
};

/** The second model request (streamed): secret names in other spellings, key shapes in text. */
export const STREAM_PATH = `/v1/responses?accessToken=${S["query-accessToken"]}`;
export const STREAM_HEADERS: Record<string, string> = {
  "content-type": "application/json",
  "x-refresh-token": S["header-x-refresh-token"],
};
export const STREAM_BODY = {
  model: "gpt-audit",
  stream: true,
  refreshToken: S["body-refreshToken"],
  "client-secret": S["body-client-secret"],
  auth: { idToken: S["body-idToken"], password: S["body-password"] },
  instructions: `system prompt with ${S["prompt-aws"]}`,
  input: [
    {
      role: "user",
      type: "message",
      content: [{ type: "input_text", text: `my keys ${S["prompt-sk-proj"]} ${S["prompt-aws"]}` }],
    },
    {
      type: "function_call",
      call_id: "c1",
      name: "shell",
      arguments: JSON.stringify({ cmd: "env", apiKey: S["tool-arguments-apiKey"] }),
    },
    {
      type: "function_call_output",
      call_id: "c1",
      output: `GH=${S["tool-output-ghp"]}\nPAT=${S["tool-output-github-pat"]}\n` +
        JSON.stringify({ user: "me", password: S["tool-output-password"] }),
    },
  ],
};
/** A text delta event written as a hostile server may: `data` is its JSON text as sent. */
const rawDelta = (data: string) => `event: response.output_text.delta\ndata: ${data}\n\n`;
const DELTA = '{"type":"response.output_text.delta","delta":';

/**
 * Its answer as SSE: key shapes in the text deltas, a key split across two of them, a token
 * field in an event, a password field of tool arguments streamed in pieces. And shapes only a
 * hostile server sends: a whole key right after a word, a split key's piece in an event whose
 * JSON spans two `data:` lines, a key and a field name written with unicode escapes, an
 * `authorization` object.
 */
export const STREAM_ANSWER = [
  { type: "response.created", response: { id: "resp_s", model: "gpt-audit" } },
  { type: "response.output_text.delta", delta: `streamed ${S["answer-sk-ant"]} ` },
  { type: "response.output_text.delta", delta: `and ${S["answer-google"]} split sk-proj-` },
  { type: "response.output_text.delta", delta: `${S["answer-split-key"]} end` },
  { type: "response.output_text.delta", delta: " my token" },
  { type: "response.output_text.delta", delta: S["answer-key-after-word"] },
  { type: "response.output_text.delta", delta: " lines sk-proj-" },
  rawDelta(`${DELTA}\ndata: "${S["sse-multiline-split-key"]} end"}`),
  rawDelta(`${DELTA}" escaped \\u0073k-proj-${S["sse-escaped-key"]}"}`),
  `event: session.note\ndata: {"type":"session.note","pass\\u0077ord":"${
    S["sse-escaped-name"]
  }"}\n\n`,
  {
    type: "session.auth",
    authorization: { type: "bearer", token: S["sse-authorization-object"] },
  },
  ...['{"cmd": "login", "pass', 'word": "', S["stream-arguments-password"], '"}'].map((delta) => ({
    type: "response.function_call_arguments.delta",
    item_id: "fc_1",
    delta,
  })),
  { type: "session.token", accessToken: S["sse-access-token"] },
  {
    type: "response.completed",
    response: {
      id: "resp_s",
      model: "gpt-audit",
      status: "completed",
      output: [],
      usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
    },
  },
].map((e) => typeof e === "string" ? e : `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
  .join("");

/** A plain-text answer with key shapes. */
export const PLAIN_ANSWER = `plain answer: ${S["answer-slack"]} and ${S["answer-jwt"]}`;

/** The WebSocket message out: a secret field. */
export const WS_OUT = JSON.stringify({
  type: "session.update",
  client_secret: S["ws-client-secret"],
});
/** The answers to each message: a key shape, then a key split across two messages. */
export const WS_BACK = [S["ws-sk"], " and AKIA", `${S["ws-split-key"]} end`].map((delta) =>
  JSON.stringify({ type: "response.output_text.delta", delta })
);

const HOST = "http://127.0.0.1:40123";
const T0 = 1795634284;

function exchange(
  n: number,
  request: Entry["request"],
  response: Entry["response"],
  extra: Partial<Entry> = {},
): Entry {
  const t = T0 + n;
  return {
    timestamp: t,
    id: `planted-${n}`,
    proxy: "api",
    request,
    response,
    timing: { start: t, first_byte: t + 0.1, end: t + 0.3 },
    ...extra,
  };
}

/** The exchanges as a `--keep-secrets` capture holds them, in the order the audit sends them. */
export function plantedEntries(): Entry[] {
  const json = { "content-type": "application/json", "set-cookie": SET_COOKIES.join(", ") };
  return [
    exchange(
      0,
      { method: "POST", url: HOST + MODEL_PATH, headers: MODEL_HEADERS, body: MODEL_BODY },
      { status_code: 200, headers: json, body: MODEL_ANSWER },
    ),
    exchange(
      1,
      {
        method: "POST",
        url: `${HOST}/oauth/token`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: FORM_BODY,
      },
      { status_code: 200, headers: json, body: OAUTH_ANSWER },
      { proxy: "chatgpt" },
    ),
    exchange(
      2,
      { method: "POST", url: HOST + STREAM_PATH, headers: STREAM_HEADERS, body: STREAM_BODY },
      { status_code: 200, headers: { "content-type": "text/event-stream" }, body: STREAM_ANSWER },
    ),
    exchange(
      3,
      { method: "GET", url: `${HOST}/plain`, headers: {}, body: null },
      { status_code: 200, headers: { "content-type": "text/plain" }, body: PLAIN_ANSWER },
    ),
    exchange(
      4,
      {
        method: "GET",
        url: `${HOST}/ws`,
        headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13" },
        body: null,
      },
      { status_code: 101, headers: { upgrade: "websocket" }, body: null },
      {
        websocket: [
          { from: "client", t: T0 + 4.1, text: WS_OUT },
          ...WS_BACK.map((text, i) => ({ from: "server" as const, t: T0 + 4.2 + i / 100, text })),
        ],
      },
    ),
  ];
}

/** Writes the capture to `file` as JSONL. */
export async function writePlantedCapture(file: string): Promise<void> {
  await Deno.writeTextFile(file, plantedEntries().map((e) => JSON.stringify(e)).join("\n") + "\n");
}
