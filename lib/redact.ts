/**
 * Redaction of secrets for display: headers by name and secret-looking query parameters. The
 * capture addon redacts at the source too (with a fingerprint); values it already redacted are
 * kept as they are, so their fingerprints survive into the report.
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

/** Query parameters that carry credentials (Gemini `key=`, OAuth codes, signatures). */
export const REDACTED_QUERY_KEYS: readonly string[] = [
  "key",
  "api-key",
  "api_key",
  "apikey",
  "access_token",
  "token",
  "client_secret",
  "code",
  "sig",
  "signature",
];

export const REDACTED = "[REDACTED]";

/** Matches a value the addon already redacted: `[REDACTED]` or `[REDACTED:1a2b3c4d]`. */
const ALREADY_REDACTED = /^(?:\S+ )?\[REDACTED(?::[0-9a-f]+)?\]$/;

/** Schemes kept visible in front of a masked credential. */
const AUTH_SCHEME = /^(Bearer|Basic|Token|Digest|Bot)\s+/i;

/**
 * Builds a header redactor for a set of extra names (case-insensitive).
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
      out[name] = names.has(name.toLowerCase()) ? redactValue(value) : value;
    }
    return out;
  };
}

function redactValue(value: string): string {
  if (ALREADY_REDACTED.test(value)) return value;
  const scheme = AUTH_SCHEME.exec(value);
  return scheme ? `${scheme[1]} ${REDACTED}` : REDACTED;
}

/**
 * Masks secret query parameters in a URL, leaving everything else byte for byte (no
 * re-encoding), e.g. `?alt=sse&key=AIza…` → `?alt=sse&key=[REDACTED]`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrl } from "./redact.ts";
 *
 * const url = redactUrl("https://h/v1/x?alt=sse&key=secret-value");
 * assert.ok(url.startsWith("https://h/v1/x?alt=sse&key="));
 * assert.ok(!url.includes("secret-value"));
 * ```
 */
export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q === -1) return url;
  const hash = url.indexOf("#", q);
  const end = hash === -1 ? url.length : hash;
  const params = url.slice(q + 1, end).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq === -1) return pair;
    let name: string;
    try {
      name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, " "));
    } catch {
      name = pair.slice(0, eq);
    }
    if (!REDACTED_QUERY_KEYS.includes(name.toLowerCase())) return pair;
    const value = pair.slice(eq + 1);
    return ALREADY_REDACTED.test(decodeSafe(value)) ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
  });
  return url.slice(0, q + 1) + params.join("&") + url.slice(end);
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// Secret fields in bodies (shared by the renderers and the HAR export)

/** The mask put in place of a secret value. */
export const SECRET_MASK = "[REDACTED]";

/**
 * Keys whose values are credentials, compared after lower-casing and dropping `_`/`-` (so
 * `access_token`, `accessToken` and `access-token` all match). `code` is not here: see
 * {@link maskSecretFields}.
 */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  "apikey",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "clientsecret",
  "codeverifier",
  "password",
]);

/** Sibling keys that mark an object (or form body) as an OAuth request, where `code` is secret. */
const OAUTH_MARKERS: ReadonlySet<string> = new Set([
  "granttype",
  "redirecturi",
  "codeverifier",
  "clientid",
]);

const normKey = (key: string) => key.toLowerCase().replace(/[_-]/g, "");

/** True for a value already masked by the capture or by this module: `[REDACTED…]`. */
export function isMasked(value: unknown): boolean {
  return typeof value === "string" && /^\[REDACTED[^\]]*\]$/.test(value);
}

/**
 * A copy of a JSON value with credential values replaced by "[REDACTED]" at any depth: keys
 * api_key/apiKey, access_token, refresh_token, id_token, client_secret, code_verifier and
 * password (any case, `_`/`-` ignored). `code` is masked only in an object that looks like an
 * OAuth call (it also has grant_type, redirect_uri, code_verifier or client_id), so error
 * codes elsewhere stay visible. Strings and numbers are masked; null, booleans, objects and
 * arrays under a secret key are walked instead. Values already `[REDACTED…]` are kept (their
 * fingerprints survive). Nesting deeper than 40 levels becomes "[…]". Never throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maskSecretFields } from "./redact.ts";
 *
 * const body = { grant_type: "refresh_token", refresh_token: "rt-secret", scope: "all" };
 * const masked = maskSecretFields(body) as Record<string, string>;
 * assert.ok(!JSON.stringify(masked).includes("rt-secret"));
 * assert.equal(masked.scope, "all");
 * ```
 */
export function maskSecretFields(value: unknown): unknown {
  const walk = (v: unknown, depth: number): unknown => {
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
 * For one object: whether a key/value pair is a credential to mask (a string or number under
 * a secret key, not already masked; `code` only when the object looks like an OAuth call).
 */
export function secretFieldTest(obj: object): (key: string, value: unknown) => boolean {
  let oauth: boolean | undefined;
  return (key, value) => {
    if (typeof value !== "string" && typeof value !== "number") return false;
    const n = normKey(key);
    if (!SECRET_KEYS.has(n)) {
      if (n !== "code") return false;
      oauth ??= Object.keys(obj).some((k) => OAUTH_MARKERS.has(normKey(k)));
      if (!oauth) return false;
    }
    return !isMasked(value);
  };
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
 * byte as it was: the keys of {@link maskSecretFields}, plus `code` always (form bodies sent by
 * agents are OAuth calls). Text that is not form-encoded is returned unchanged.
 */
export function maskFormSecrets(text: string): string {
  if (!isFormEncoded(text)) return text;
  return text.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    if (eq === -1) return pair;
    let name = pair.slice(0, eq);
    try {
      name = decodeURIComponent(name.replace(/\+/g, " "));
    } catch {
      // keep the raw name
    }
    const n = normKey(name);
    if (!SECRET_KEYS.has(n) && n !== "code") return pair;
    let value = pair.slice(eq + 1);
    try {
      value = decodeURIComponent(value.replace(/\+/g, " "));
    } catch {
      // keep the raw value
    }
    return isMasked(value) ? pair : `${pair.slice(0, eq)}=${SECRET_MASK}`;
  }).join("&");
}
