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

/** Builds a header redactor for a set of extra names (case-insensitive). */
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
