/**
 * The one check of an upstream URL, shared by `probe capture --upstream` and target files'
 * `proxies[].upstream`, so both refuse the same values for the same reason.
 */

/**
 * Why `value` cannot be a proxy's upstream, or undefined when it can: an http(s) URL with
 * scheme, host and port only (the request's own path is appended to it), no login, and no ':'
 * without a port.
 *
 * @example
 * ```ts
 * import { upstreamProblem } from "./upstream_url.ts";
 * if (upstreamProblem("https://api.example.com:8443/") !== undefined) throw new Error();
 * if (upstreamProblem("http://127.0.0.1:") !== "the port after ':' is missing") {
 *   throw new Error();
 * }
 * ```
 */
export function upstreamProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "not a URL (e.g. https://api.example.com/)";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "the URL must start with http:// or https://";
  }
  if (url.username || url.password) {
    return "a login in the URL (user:password@) is not supported: the agent's own " +
      "credentials pass through the proxy";
  }
  if (url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    return "give scheme, host and port only (the request path is kept)";
  }
  if (hasEmptyPort(value)) return "the port after ':' is missing";
  return undefined;
}

/**
 * Whether the URL's authority ends in a ':' without digits (`http://127.0.0.1:`). The URL
 * parser reads that as the scheme's default port, so mitmdump would forward to port 80 or 443
 * rather than to the port the user meant to type.
 */
export function hasEmptyPort(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*:(?:[/?#]|$)/i.test(value);
}

/**
 * The value as messages show it: the password of a `user:password@` login replaced by `***`,
 * so a refused URL is not echoed with its secret.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withoutPassword } from "./upstream_url.ts";
 * assert.equal(withoutPassword("http://me:hunter2@proxy:3128"), "http://me:***@proxy:3128");
 * ```
 */
export function withoutPassword(value: string): string {
  return value.replace(/(:\/\/[^/?#@:\s]*):[^/?#@\s]*@/g, "$1:***@");
}
