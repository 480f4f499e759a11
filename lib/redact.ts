/**
 * The one redaction policy: which headers, query parameters, body fields and key shapes hold
 * secrets. Reports and the HAR export mask with it here; `probe capture` hands the same lists
 * to the capture addon (see {@link redactionPolicy}), which masks at the source with a
 * fingerprint. Values already masked are kept as they are, so fingerprints survive into reports.
 */
import type { Headers } from "./types.ts";

/** Headers that always hold credentials, whatever the target says. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = [
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "x-goog-api-key",
  "cookie",
  "set-cookie",
];

/** Headers whose value starts with a scheme (`Bearer …`) kept visible in front of the mask. */
export const SCHEME_HEADERS: readonly string[] = ["authorization", "proxy-authorization"];

/**
 * Names of credentials, compared after lower-casing and dropping `_` and `-`, so the snake,
 * camel and kebab spellings (`refresh_token`, `refreshToken`, `refresh-token`) are one name.
 * A name that ends with one is one too: `SERVICE_API_KEY`, `X-Api-Key`, `aws_secret_access_key`,
 * `github_access_token` (see {@link isSecretName}). Masked as JSON fields at any depth (bodies,
 * SSE events, WebSocket messages), as form fields, as query parameters and as headers
 * (`X-Refresh-Token`). `authorization` is an MCP server's OAuth token in a model API request.
 */
export const SECRET_NAMES: readonly string[] = [
  "apikey",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "clientsecret",
  "codeverifier",
  "password",
  "passwd",
  "passphrase",
  "sessiontoken",
  "securitytoken",
  "authtoken",
  "authorization",
  "authorizationtoken",
  "bearertoken",
  "secretaccesskey",
  "secretkey",
  "apisecret",
  "subscriptionkey",
  "privatekey",
  "privatetoken",
  "apitoken",
  // Any name ending with it: `webhook_secret`, `GITHUB_WEBHOOK_SECRET`, `secret`.
  "secret",
];

/**
 * Names that are credentials in a URL query or a form body only (an API key `key=`, OAuth `code=`,
 * signatures); in JSON they are too common to mask (`"key"` of a tool argument, an error
 * `"code"`: see {@link OAUTH_MARKERS}).
 */
export const QUERY_SECRET_NAMES: readonly string[] = ["key", "token", "code", "sig", "signature"];

/**
 * A query or form name ending with one of these is a secret too: a signed URL's signature
 * (`X-Amz-Signature`, `X-Goog-Signature`) lets anyone who holds the URL in until it expires.
 * (Other query names match whole: `zipcode` and `pageToken` are no secrets.)
 */
export const QUERY_SECRET_ENDINGS: readonly string[] = ["signature"];

/**
 * Names whose list or object value is a credential whole (`"credentials": {"primary": {"key":
 * "…"}}`), compared like {@link SECRET_NAMES} (a name ending with one is one). A string under
 * them is kept: `credentials: "include"` is a fetch mode, not a secret.
 */
export const SECRET_OBJECT_NAMES: readonly string[] = ["credentials"];

/**
 * The keywords of a JSON Schema (2020-12, OpenAPI's and Gemini's additions). A secret name's
 * object is a tool's parameter schema, kept and walked, when every key of it is one of these
 * (or starts with `x-` or `$`) and its `type`, if any, is one of {@link JSON_SCHEMA_TYPES}:
 * `"password": {"type": "string", "description": "…"}` is kept, `"authorization": {"type":
 * "bearer", "token": "…"}` is masked.
 */
export const JSON_SCHEMA_KEYWORDS: readonly string[] = [
  "type",
  "description",
  "title",
  "properties",
  "items",
  "prefixItems",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "propertyOrdering",
  "required",
  "enum",
  "const",
  "default",
  "examples",
  "example",
  "format",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  "minProperties",
  "maxProperties",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "if",
  "then",
  "else",
  "dependentRequired",
  "dependentSchemas",
  "unevaluatedProperties",
  "unevaluatedItems",
  "definitions",
  "readOnly",
  "writeOnly",
  "deprecated",
  "nullable",
  "discriminator",
  "contentMediaType",
  "contentEncoding",
];

/** The types a JSON Schema's `type` names (compared lower-cased: Gemini writes `STRING`). */
export const JSON_SCHEMA_TYPES: readonly string[] = [
  "string",
  "number",
  "integer",
  "boolean",
  "object",
  "array",
  "null",
];

/** Sibling keys that mark a JSON object as an OAuth call, where `code` is a secret too. */
export const OAUTH_MARKERS: readonly string[] = [
  "granttype",
  "redirecturi",
  "codeverifier",
  "clientid",
];

/**
 * Shapes of well-known keys, masked anywhere in text (prompts, answers, tool output, headers,
 * URLs): API keys `sk-…` (`sk-proj-…`, `sk-ant-…`), `AIza…`, `gsk_…`, `xai-…`, `hf_…`, OAuth
 * access tokens `ya29.…`, code-host
 * and registry tokens `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`, `github_pat_`, `glpat-`, `npm_`,
 * payment keys `sk_live_`/`rk_live_`, cloud access key ids `AKIA…`/`ASIA…`, chat-app tokens
 * `xox[abprs]-…` and JWTs. One regular expression source that JavaScript and Python read
 * alike (the addon compiles it too). `sk-` and the other short prefixes must not follow a
 * letter or digit (`task-…`), unless that is the `n` of a JSON `\n`, or the key's prefix is
 * one of OpenAI's or Anthropic's own (`sk-proj-`, `sk-svcacct-`, `sk-admin-` with an upper-case
 * letter or digit in the key, `sk-ant-api03-`): a stream's deltas joined put a key right after
 * a word (`token` | `sk-proj-…`), where a capture masks it in its own delta.
 */
export const KEY_SHAPES_SOURCE =
  "(?<=[A-Za-z0-9])sk-(?:(?:proj|svcacct|admin)-(?=[a-z_\\-]{0,40}[A-Z0-9])" +
  "|ant-(?:api|oat|admin)\\d\\d-)[A-Za-z0-9_\\-]{20,}" +
  "|(?:(?<![A-Za-z0-9])|(?<=\\\\[nrt]))(?:sk-[A-Za-z0-9_\\-]{20,}" +
  "|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|hf_[A-Za-z0-9]{30,}|glpat-[A-Za-z0-9_\\-]{20,}" +
  "|[sr]k_live_[A-Za-z0-9]{20,}|npm_[A-Za-z0-9]{36,}|ya29\\.[A-Za-z0-9_\\-]{20,})" +
  "|gh[oprsu]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}|(?:AKIA|ASIA)[0-9A-Z]{16}" +
  "|AIza[0-9A-Za-z_\\-]{30,}|xox[abprs]-[A-Za-z0-9\\-]{10,}" +
  "|eyJ[A-Za-z0-9_\\-]{8,}\\.eyJ[A-Za-z0-9_\\-]{8,}\\.[A-Za-z0-9_\\-]{8,}";

/** Text every key shape starts with: a text holding none of them is left alone, unscanned. */
export const KEY_SHAPE_PREFIXES: readonly string[] = [
  "sk-",
  "gsk_",
  "xai-",
  "hf_",
  "glpat-",
  "sk_live_",
  "rk_live_",
  "npm_",
  "ya29.",
  "ghp_",
  "gho_",
  "ghu_",
  "ghs_",
  "ghr_",
  "github_pat_",
  "AKIA",
  "ASIA",
  "AIza",
  "xoxa-",
  "xoxb-",
  "xoxp-",
  "xoxr-",
  "xoxs-",
  "eyJ",
];

/** Query parameters masked in URLs (the names as users write them; compared normalized). */
export const REDACTED_QUERY_KEYS: readonly string[] = [...QUERY_SECRET_NAMES, ...SECRET_NAMES];

export const REDACTED = "[REDACTED]";

/** The mask put in place of a secret value. */
export const SECRET_MASK = REDACTED;

/** Matches a value the addon already redacted: `[REDACTED]` or `[REDACTED:1a2b3c4d]`. */
const ALREADY_REDACTED = /^(?:\S+ )?\[REDACTED(?::[0-9a-f]+)?\]$/;

/** Schemes kept visible in front of a masked credential. */
const AUTH_SCHEME = /^(Bearer|Basic|Token|Digest|Bot)\s+/i;

/** A name as the lists hold it: lower case, no `_` or `-`. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/[_-]/g, "");

/** A normalized name ending with a secret name (the addon tests the same: `str.endswith`). */
const SECRET_NAME_END = new RegExp(`(?:${SECRET_NAMES.join("|")})$`);
const QUERY_NAME_SET: ReadonlySet<string> = new Set(QUERY_SECRET_NAMES);
const QUERY_NAME_END = new RegExp(`(?:${QUERY_SECRET_ENDINGS.join("|")})$`);

/**
 * Whether a name (as {@link normalizeName} gives it) holds a credential: it ends with one of
 * {@link SECRET_NAMES}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isSecretName, normalizeName } from "./redact.ts";
 *
 * assert.ok(isSecretName(normalizeName("SERVICE_API_KEY")));
 * assert.ok(!isSecretName(normalizeName("max_tokens")));
 * ```
 */
export function isSecretName(normalized: string): boolean {
  return SECRET_NAME_END.test(normalized);
}
const OAUTH_MARKER_SET: ReadonlySet<string> = new Set(OAUTH_MARKERS);
const KEY_SHAPES = new RegExp(KEY_SHAPES_SOURCE, "g");

/**
 * What the capture addon is handed at start (as a JSON file): the same lists this module masks
 * with, plus the target's extra header names.
 */
export interface RedactionPolicy {
  headers: string[];
  schemeHeaders: string[];
  secretNames: string[];
  secretObjectNames: string[];
  schemaKeywords: string[];
  schemaTypes: string[];
  querySecretNames: string[];
  querySecretEndings: string[];
  oauthMarkers: string[];
  keyShapes: string;
  keyShapePrefixes: string[];
  /**
   * The key of the capture's fingerprints (`[REDACTED:1a2b3c4d]`, an HMAC), as hex: without a
   * key of its own the capture's reader could test guesses of a weak password against them.
   */
  fingerprintKey: string;
}

/**
 * The policy for a capture, with the target's extra header names. `passphrase` keys the
 * fingerprints (the same secret then has the same fingerprint in every capture made with it);
 * without one each capture gets a random key, kept nowhere.
 */
export function redactionPolicy(
  extraHeaders: readonly string[],
  passphrase?: string,
): RedactionPolicy {
  const key = passphrase
    ? new TextEncoder().encode(passphrase)
    : crypto.getRandomValues(new Uint8Array(32));
  return {
    fingerprintKey: Array.from(key, (b) => b.toString(16).padStart(2, "0")).join(""),
    headers: [
      ...new Set([...ALWAYS_REDACTED_HEADERS, ...extraHeaders].map((h) => h.toLowerCase())),
    ],
    schemeHeaders: [...SCHEME_HEADERS],
    secretNames: [...SECRET_NAMES],
    secretObjectNames: [...SECRET_OBJECT_NAMES],
    schemaKeywords: [...JSON_SCHEMA_KEYWORDS],
    schemaTypes: [...JSON_SCHEMA_TYPES],
    querySecretNames: [...QUERY_SECRET_NAMES],
    querySecretEndings: [...QUERY_SECRET_ENDINGS],
    oauthMarkers: [...OAUTH_MARKERS],
    keyShapes: KEY_SHAPES_SOURCE,
    keyShapePrefixes: [...KEY_SHAPE_PREFIXES],
  };
}

/**
 * Masks every well-known key shape in a text (see {@link KEY_SHAPES_SOURCE}), e.g.
 * `use sk-proj-… here` → `use [REDACTED] here`. A text with none of their prefixes is returned
 * as it is without a scan.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskKeyShapes } from "./redact.ts";
 *
 * assert.equal(maskKeyShapes("key: AKIAABCDEFGHIJKLMNOP"), "key: [REDACTED]");
 * ```
 */
export function maskKeyShapes(text: string): string {
  return plainFirst(text, maskKeyShapesAsWritten);
}

function maskKeyShapesAsWritten(text: string): string {
  if (!hasKeyShapePrefix(text)) return text;
  return text.replace(KEY_SHAPES, REDACTED);
}

/** A JSON `\u` escape of an ASCII letter, digit, `-` or `_`, which JSON encoders write plain. */
const PLAIN_ESCAPE = /\\u00(?:2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])/;
const PLAIN_ESCAPE_RUN = /(\\+)u00(2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])/g;

/**
 * `mask(text)`; but when the text writes ASCII letters, digits, `-` or `_` as JSON `\u`
 * escapes (`\u0073k-proj-…`, `"pass\u0077ord"`: no JSON encoder does, so a hostile server),
 * the mask of the text with them written plain if that finds a secret the text's own spelling
 * hides. The text stays as it is when it does not. The addon's `plain_first` does the same.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskEmbeddedFields, plainFirst } from "./redact.ts";
 *
 * assert.equal(
 *   plainFirst('{"pass\\u0077ord": "pw"}', maskEmbeddedFields),
 *   '{"password": "[REDACTED]"}',
 * );
 * assert.equal(plainFirst('{"n": "\\u0041"}', maskEmbeddedFields), '{"n": "\\u0041"}');
 * ```
 */
export function plainFirst(text: string, mask: (text: string) => string): string {
  if (!text.includes("\\u00") || !PLAIN_ESCAPE.test(text)) return mask(text);
  const plain = plainEscapes(text);
  const masked = mask(plain);
  return countMasks(masked) > countMasks(plain) ? masked : mask(text);
}

/**
 * `text` with those escapes written plain, at whatever depth of JSON written inside JSON
 * strings they stand: a run of 2^m·q backslashes (q odd) before `u00XX` is an escape m+1 levels
 * down, whose last 2^m backslashes and `u00XX` become the character.
 */
function plainEscapes(text: string): string {
  return text.replace(PLAIN_ESCAPE_RUN, (_, run: string, hex: string) => {
    const level = run.length & -run.length;
    return run.slice(0, run.length - level) + String.fromCharCode(parseInt(hex, 16));
  });
}

function countMasks(text: string): number {
  return text.split("[REDACTED").length - 1;
}

/** Shortest key a whole value is taken for when it starts with a key shape's prefix. */
const SHORT_KEY = /^[A-Za-z0-9_\-.]{8,}$/;

/**
 * A whole value is a key: a key shape, or a known prefix followed by at least eight key
 * characters (a short or test key given as an argument, which text scanning would leave).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isKeyShaped } from "./redact.ts";
 *
 * assert.ok(isKeyShaped("sk-proj-abcdefgh"));
 * assert.ok(!isKeyShaped("sk-short"));
 * assert.ok(!isKeyShaped("task-abcdefghijkl"));
 * ```
 */
export function isKeyShaped(value: string): boolean {
  if (maskKeyShapes(value) === REDACTED) return true;
  const prefix = KEY_SHAPE_PREFIXES.find((p) => value.startsWith(p));
  return prefix !== undefined && SHORT_KEY.test(value.slice(prefix.length));
}

/** Whether `text` holds the prefix of a key shape: worth searching for the whole key. */
export function hasKeyShapePrefix(text: string): boolean {
  return KEY_SHAPE_PREFIX.test(text);
}

/**
 * Any of {@link KEY_SHAPE_PREFIXES}: one scan of a text where a search per prefix took two and
 * a half times as long (every report's text is searched).
 */
const KEY_SHAPE_PREFIX = new RegExp(
  KEY_SHAPE_PREFIXES.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
);

/** A header holds a credential: the built-in list, the extra names, or a secret name. */
function secretHeader(names: ReadonlySet<string>, name: string): boolean {
  const lower = name.toLowerCase();
  return names.has(lower) || isSecretName(normalizeName(lower));
}

/**
 * Builds a header redactor for a set of extra names (case-insensitive): credentials by name
 * (keeping an auth scheme in front), key shapes in every other value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headerRedactor } from "./redact.ts";
 *
 * const redact = headerRedactor(["x-org-id"]);
 * const out = redact({ Authorization: "Bearer sk-secret", "X-Org-Id": "org-1", accept: "*" });
 * assert.ok(out.Authorization.startsWith("Bearer [REDACTED"));
 * assert.ok(!out["X-Org-Id"].includes("org-1"));
 * assert.equal(out.accept, "*");
 * ```
 */
export function headerRedactor(extra: readonly string[]): (headers: Headers) => Headers {
  const names = new Set([...ALWAYS_REDACTED_HEADERS, ...extra].map((n) => n.toLowerCase()));
  return (headers) => {
    const out: Headers = {};
    for (const [name, value] of Object.entries(headers)) {
      out[name] = secretHeader(names, name) ? redactValue(value) : maskKeyShapes(value);
    }
    return out;
  };
}

function redactValue(value: string): string {
  if (ALREADY_REDACTED.test(value)) return value;
  const scheme = AUTH_SCHEME.exec(value);
  return scheme ? `${scheme[1]} ${REDACTED}` : REDACTED;
}

/** Decodes a form or query name or value; the raw text when it is not valid percent-encoding. */
function decodeComponent(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

/**
 * Masks secret `name=value` pairs of a query or form text (key shapes in the others), leaving
 * every other byte as it was.
 */
function maskPairs(text: string): string {
  return text.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq === -1) return pair;
    const name = normalizeName(decodeComponent(pair.slice(0, eq)));
    if (!QUERY_NAME_SET.has(name) && !isSecretName(name) && !QUERY_NAME_END.test(name)) {
      return maskKeyShapes(pair);
    }
    return ALREADY_REDACTED.test(decodeComponent(pair.slice(eq + 1)))
      ? pair
      : `${pair.slice(0, eq)}=${REDACTED}`;
  }).join("&");
}

/**
 * Masks secret query parameters in a URL (any spelling of the names), a login's password, and
 * key shapes anywhere in it, leaving everything else byte for byte (no re-encoding), e.g.
 * `?page=2&key=AIza…` → `?page=2&key=[REDACTED]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./redact.ts";
 *
 * const url = redactUrl("https://h/x?page=2&key=secret-value");
 * assert.ok(url.startsWith("https://h/x?page=2&key="));
 * assert.ok(!url.includes("secret-value"));
 * ```
 */
export function redactUrl(raw: string): string {
  // A password in the URL's login (`https://user:password@host/`), up to the host.
  const url = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:\s]*):[^/?#@\s]+@/i, `$1:${REDACTED}@`);
  const q = url.indexOf("?");
  if (q === -1) return maskKeyShapes(url);
  const hash = url.indexOf("#", q);
  const end = hash === -1 ? url.length : hash;
  return maskKeyShapes(url.slice(0, q + 1)) + maskPairs(url.slice(q + 1, end)) +
    maskKeyShapes(url.slice(end));
}

/** A secret name in any spelling closing a JSON key (`"SERVICE_API_KEY":`): worth a closer look. */
const SECRET_KEY_HINT = new RegExp(
  `(?:${
    [...SECRET_NAMES, ...SECRET_OBJECT_NAMES].map((n) => [...n].join("[_-]?")).join("|")
  })\\\\?"\\s*:`,
  "i",
);
/** The end of a JSON key, `":` (spaces allowed before the colon). */
const KEY_COLON = /"\s*:/;
/**
 * A JSON string field written inside a JSON string (`\\"key\\": \\"value\\"`): the value ends
 * at the first quote that the inner JSON does not escape.
 */
export const ESCAPED_JSON_STRING_FIELD =
  /\\"([^"\\]{1,128})\\"\s*:\s*\\"((?:[^"\\]|\\\\\\"|\\\\\\\\|\\\\[^"\\]|\\[^"\\])*)\\"/g;
/** A JSON string field, `"key": "value"`, in text. */
const JSON_STRING_FIELD = /"((?:[^"\\\n]|\\.)*)"\s*:\s*"((?:[^"\\\n]|\\.)*)"/g;

/**
 * Masks the values of secret JSON string fields written inside a text: a tool call's arguments
 * or a tool's output that is JSON text, a config pasted into a prompt
 * (`{"SERVICE_API_KEY": "…"}` → `{"SERVICE_API_KEY": "[REDACTED]"}`). Everything else is left
 * byte for byte; a text without a secret name before a `":` is not scanned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskEmbeddedFields } from "./redact.ts";
 *
 * assert.equal(
 *   maskEmbeddedFields('run {"user": "me", "apiKey": "k-1"}'),
 *   'run {"user": "me", "apiKey": "[REDACTED]"}',
 * );
 * ```
 */
export function maskEmbeddedFields(text: string): string {
  return plainFirst(text, maskEmbeddedFieldsAsWritten);
}

function maskEmbeddedFieldsAsWritten(text: string): string {
  // Most texts hold no `":` at all: the simple search spares them the names' long one.
  if (!KEY_COLON.test(text) || !SECRET_KEY_HINT.test(text)) return text;
  const masked = maskObjectFields(text.replace(
    JSON_STRING_FIELD,
    (field: string, key: string, value: string) =>
      isSecretName(normalizeName(key)) && !isMasked(value)
        ? `${field.slice(0, field.length - value.length - 1)}${REDACTED}"`
        : field,
  ));
  // JSON written in one of the text's strings (a config file a tool call's arguments write).
  if (!masked.includes('\\"')) return masked;
  const fields = masked.replace(
    ESCAPED_JSON_STRING_FIELD,
    (field: string, key: string, value: string) =>
      value && isSecretName(normalizeName(key)) && !isMasked(value)
        ? `${field.slice(0, field.length - value.length - 2)}${REDACTED}\\"`
        : field,
  );
  let out = "";
  let pos = 0;
  for (const { from, to } of escapedObjectSpans(fields)) {
    out += `${fields.slice(pos, from)}${ESCAPED_MASK}`;
    pos = to;
  }
  return pos === 0 ? fields : out + fields.slice(pos);
}

/** The mask as JSON written inside a JSON string writes a string. */
export const ESCAPED_MASK = `\\"${REDACTED}\\"`;
/** {@link OBJECT_FIELD} written inside a JSON string. */
const ESCAPED_OBJECT_FIELD = /\\"([^"\\]{1,128})\\"\s*:\s*(?=[[{])/g;

/**
 * Where each list or object under a secret name stands in JSON written inside a JSON string
 * (`{\\"authorization\\": {\\"type\\": …}}`), when {@link maskSecretFields} would mask it whole
 * (`from`..`to`; `matchFrom`: where its field starts). The addon's `_escaped_objects` finds the
 * same.
 */
export function escapedObjectSpans(
  text: string,
): { from: number; to: number; matchFrom: number }[] {
  const spans: { from: number; to: number; matchFrom: number }[] = [];
  let pos = 0;
  for (const m of text.matchAll(ESCAPED_OBJECT_FIELD)) {
    const n = normalizeName(m[1]);
    if (m.index < pos || !(isSecretName(n) || SECRET_OBJECT_END.test(n))) continue;
    const from = m.index + m[0].length;
    const to = jsonEnd(text, from, true);
    if (to === undefined) continue;
    let value: unknown;
    try {
      value = JSON.parse(JSON.parse(`"${text.slice(from, to)}"`));
    } catch {
      continue;
    }
    if (!secretShaped(value)) continue;
    spans.push({ from, to, matchFrom: m.index });
    pos = to;
  }
  return spans;
}

/** A JSON key whose value, a list or an object, starts right after it. */
const OBJECT_FIELD = /"((?:[^"\\\n]|\\.){1,128})"\s*:\s*(?=[[{])/g;

/**
 * A text with the JSON lists and objects written in it under a secret name masked whole, as
 * {@link maskSecretFields} masks them (`{"authorization": {"type": "bearer", "token": …}}` in a
 * tool call's arguments), a JSON Schema kept; everything else as it was. The addon's
 * `_masked_objects` does the same.
 */
function maskObjectFields(text: string): string {
  let out = "";
  let pos = 0;
  for (const m of text.matchAll(OBJECT_FIELD)) {
    const from = m.index + m[0].length;
    const n = normalizeName(m[1]);
    if (m.index < pos || !(isSecretName(n) || SECRET_OBJECT_END.test(n))) continue;
    const to = jsonEnd(text, from);
    if (to === undefined) continue;
    let value: unknown;
    try {
      value = JSON.parse(text.slice(from, to));
    } catch {
      continue;
    }
    if (!secretShaped(value)) continue;
    out += `${text.slice(pos, from)}"${REDACTED}"`;
    pos = to;
  }
  return pos === 0 ? text : out + text.slice(pos);
}

/**
 * Where the JSON list or object starting at `from` ends (past its closing bracket), its strings
 * skipped; undefined when the text ends first.
 */
function jsonEnd(text: string, from: number, escaped = false): number | undefined {
  let depth = 0;
  let inString = false;
  let backslash = false;
  for (const [c, after] of escaped ? unescaped(text, from) : plainChars(text, from)) {
    if (inString) {
      if (backslash) backslash = false;
      else if (c === "\\") backslash = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") depth++;
    else if (c === "]" || c === "}") {
      if (--depth === 0) return after;
    }
  }
  return undefined;
}

function* plainChars(text: string, from: number): Generator<[string, number]> {
  for (let i = from; i < text.length; i++) yield [text[i], i + 1];
}

/**
 * The characters of JSON written inside a JSON string, from `from`, each with where it ends in
 * `text`; escapes other than a quote's and a backslash's stand for a character that is neither.
 * A quote no backslash escapes ends the string, and them.
 */
function* unescaped(text: string, from: number): Generator<[string, number]> {
  for (let i = from; i < text.length;) {
    const c = text[i];
    if (c === '"') return;
    if (c === "\\" && i + 1 < text.length) {
      const e = text[i + 1];
      const step = e === "u" ? 6 : 2;
      yield [e === '"' || e === "\\" ? e : " ", i + step];
      i += step;
    } else {
      yield [c, i + 1];
      i++;
    }
  }
}

/**
 * `value` with {@link maskEmbeddedFields} applied to every string in it (a report's document:
 * its blocks' texts, cells and items); the same value when no string holds a secret field.
 */
export function maskEmbeddedIn<T>(value: T): T {
  // Nothing is copied until a string changes: a report's documents are walked whole, and
  // copying every array and object of each (then dropping the copies) was most of the walk.
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return maskEmbeddedFields(v);
    if (typeof v !== "object" || v === null || depth > 64) return v;
    if (Array.isArray(v)) {
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const y = walk(v[i], depth + 1);
        if (y !== v[i]) (out ??= v.slice())[i] = y;
      }
      return out ?? v;
    }
    let out: Record<string, unknown> | undefined;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const x = (v as Record<string, unknown>)[k];
      const y = walk(x, depth + 1);
      if (y !== x) (out ??= { ...v as Record<string, unknown> })[k] = y;
    }
    return out ?? v;
  };
  return walk(value, 0) as T;
}

/** Key shapes and secret JSON fields written in a text masked (see {@link maskEmbeddedFields}). */
export function maskStringSecrets(text: string): string {
  return maskEmbeddedFields(maskKeyShapes(text));
}

/** True for a value already masked by the capture or by this module: `[REDACTED…]`. */
export function isMasked(value: unknown): boolean {
  return typeof value === "string" && /^\[REDACTED[^\]]*\]$/.test(value);
}

/**
 * A copy of a JSON value with credential values replaced by "[REDACTED]" at any depth: the
 * keys of {@link SECRET_NAMES} in any spelling. `code` is masked only in an object that looks
 * like an OAuth call (it also has grant_type, redirect_uri, code_verifier or client_id), so
 * error codes elsewhere stay visible. Strings and numbers are masked, and lists or objects that
 * hold one; null, booleans and a JSON Schema under a secret key are walked instead (a tool's
 * JSON Schema names its parameters, `"password": {"type": "string"}`). Key shapes are masked in
 * every string.
 * Values already `[REDACTED…]` are kept (their fingerprints survive). Nesting deeper than 40
 * levels becomes "[…]". Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSecretFields } from "./redact.ts";
 *
 * const body = { grant_type: "refresh_token", refreshToken: "rt-secret", scope: "all" };
 * const masked = maskSecretFields(body) as Record<string, string>;
 * assert.ok(!JSON.stringify(masked).includes("rt-secret"));
 * assert.equal(masked.scope, "all");
 * ```
 */
export function maskSecretFields(value: unknown): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return maskStringSecrets(v);
    if (typeof v !== "object" || v === null) return v;
    if (depth > 40) return "[…]";
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const secret = secretFieldTest(v);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = secret(k, x) ? SECRET_MASK : walk(x, depth + 1);
    }
    return out;
  };
  return walk(value, 0);
}

/**
 * For one object: whether a key/value pair is a credential to mask (a value of a secret name
 * that {@link secretShaped} takes for a secret, not already masked; `code` only when the
 * object looks like an OAuth call; a list or object under {@link SECRET_OBJECT_NAMES}).
 */
export function secretFieldTest(obj: object): (key: string, value: unknown) => boolean {
  let oauth: boolean | undefined;
  return (key, value) => {
    const n = normalizeName(key);
    if (!isSecretName(n)) {
      if (n === "code") {
        oauth ??= Object.keys(obj).some((k) => OAUTH_MARKER_SET.has(normalizeName(k)));
        if (!oauth) return false;
      } else if (!SECRET_OBJECT_END.test(n) || typeof value !== "object") return false;
    }
    return secretShaped(value) && !isMasked(value);
  };
}

const SECRET_OBJECT_END = new RegExp(`(?:${SECRET_OBJECT_NAMES.join("|")})$`);
const SCHEMA_KEYWORD_SET: ReadonlySet<string> = new Set(JSON_SCHEMA_KEYWORDS);
const SCHEMA_TYPE_SET: ReadonlySet<string> = new Set(JSON_SCHEMA_TYPES);

const scalar = (v: unknown) => typeof v === "number" || (typeof v === "string" && v !== "");

/**
 * A value a secret name's field is masked of: a string or number, or a list or object holding
 * one at any depth (`["…"]`, `{"type": "bearer", "token": "…"}`, `{"primary": {"key": "…"}}`),
 * unless that object is a JSON Schema (see {@link JSON_SCHEMA_KEYWORDS}): a tool's parameters
 * name their fields too. The addon's `_secret_shaped` decides the same.
 */
function secretShaped(value: unknown): boolean {
  if (scalar(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  if (!Array.isArray(value) && isJsonSchema(value as Record<string, unknown>)) return false;
  return holdsScalar(value, 0);
}

/** Whether a list or object holds a non-empty string or a number, at any depth (to 40). */
function holdsScalar(value: unknown, depth: number): boolean {
  if (scalar(value)) return true;
  if (typeof value !== "object" || value === null || depth > 40) return false;
  return Object.values(value).some((v) => holdsScalar(v, depth + 1));
}

/**
 * An object written as a JSON Schema: every key a schema keyword (or `x-…`, `$…`), its `type`
 * (if any) a schema type or a list of them.
 */
function isJsonSchema(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  if (keys.length === 0) return false;
  if (!keys.every((k) => SCHEMA_KEYWORD_SET.has(k) || k.startsWith("x-") || k[0] === "$")) {
    return false;
  }
  const type = value.type;
  if (type === undefined) return true;
  const types = Array.isArray(type) ? type : [type];
  return types.every((t) => typeof t === "string" && SCHEMA_TYPE_SET.has(t.toLowerCase()));
}

/**
 * True when `text` looks like an `application/x-www-form-urlencoded` body: `name=value` pairs
 * joined by `&`, with no spaces or line breaks.
 */
export function isFormEncoded(text: string): boolean {
  return /^[\w.~%+*-]+=[^&\s]*(?:&[\w.~%+*-]+=?[^&\s]*)*$/.test(text.trim());
}

/**
 * Masks credential values in a form-encoded body (`grant_type=…&code=…`), leaving every other
 * byte as it was: the names of a query ({@link SECRET_NAMES} and {@link QUERY_SECRET_NAMES},
 * `code` always: form bodies sent by agents are OAuth calls). Text that is not form-encoded
 * gets its key shapes masked only.
 */
export function maskFormSecrets(text: string): string {
  if (!isFormEncoded(text)) return maskStringSecrets(text);
  return maskPairs(text);
}

/** A JSON text with its credential fields masked (re-encoded then), or undefined if not JSON. */
function maskJsonText(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const before = JSON.stringify(value);
  const after = JSON.stringify(maskSecretFields(value));
  return after === before ? text : after;
}

/**
 * Masks the secrets of a text body or message whatever it holds: a JSON document (credential
 * fields, key shapes), a form body, an SSE stream (each `data:` event as JSON), or plain text
 * (key shapes). Used for bodies kept as text and for WebSocket messages.
 */
export function maskTextSecrets(text: string): string {
  const first = text.trimStart()[0];
  if (first === "{" || first === "[") {
    const masked = maskJsonText(text);
    if (masked !== undefined) return masked;
  }
  if (isFormEncoded(text)) return maskPairs(text);
  if (/^data:/m.test(text)) {
    return text.split("\n").map((line) => {
      if (!line.startsWith("data:")) return maskStringSecrets(line);
      const data = line.slice(5).trimStart();
      const masked = data[0] === "{" || data[0] === "[" ? maskJsonText(data) : undefined;
      return masked === undefined || masked === data ? maskStringSecrets(line) : `data: ${masked}`;
    }).join("\n");
  }
  return maskStringSecrets(text);
}
