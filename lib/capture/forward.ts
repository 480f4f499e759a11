/**
 * Forward (MITM) mode's plan: which hosts are intercepted, where `--upstream` sends them, and
 * the proxy and CA variables the command gets. Nothing here changes the agent's own
 * configuration: no base URL, no provider, so it behaves as it does without probe.
 */
import type { CaPaths } from "../ca.ts";
import type { ProxySpec, Target } from "../types.ts";

/** The hosts forward mode intercepts and records: its proxies' upstream hosts, then its own. */
export function forwardHosts(target: Target): string[] {
  const hosts = target.proxies.map((p) => new URL(p.upstream).hostname);
  return [...new Set([...hosts, ...(target.forwardHosts ?? [])].map((h) => h.toLowerCase()))];
}

/** mitmproxy's allow_hosts: exactly these hosts (mitmproxy 12 matches `host:port` too). */
export function allowHostsPattern(hosts: readonly string[]): string {
  const escaped = hosts.map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return `^(?:${escaped.join("|")})(?::\\d+)?$`;
}

/**
 * Host -> URL for every proxy whose upstream `--upstream` changed: its real host's requests go
 * there, the agent still believing it talks to the real host.
 */
export function forwardRoutes(
  target: Target,
  proxies: readonly ProxySpec[],
): Record<string, string> {
  const routes: Record<string, string> = {};
  for (const p of proxies) {
    const original = target.proxies.find((t) => t.name === p.name);
    if (!original || original.upstream === p.upstream) continue;
    routes[new URL(original.upstream).hostname.toLowerCase()] = p.upstream.replace(/\/+$/, "");
  }
  return routes;
}

/** Loopback, never through the proxy (local model servers, the agent's own helpers). */
export const NO_PROXY = "localhost,127.0.0.1,::1";

/**
 * The variables each runtime reads for a proxy and an extra CA: HTTP(S)_PROXY in both cases
 * (curl and Go read the lower-case ones), Node's extra CA and env-proxy switch (Node 24+'s
 * fetch ignores HTTPS_PROXY without it), and one bundle (system CAs plus probe's) for
 * OpenSSL, Python, Rust and curl.
 */
export function forwardEnv(port: number, ca: CaPaths): Record<string, string> {
  const proxy = `http://127.0.0.1:${port}`;
  return {
    HTTPS_PROXY: proxy,
    HTTP_PROXY: proxy,
    https_proxy: proxy,
    http_proxy: proxy,
    NO_PROXY,
    no_proxy: NO_PROXY,
    NODE_EXTRA_CA_CERTS: ca.cert,
    NODE_USE_ENV_PROXY: "1",
    SSL_CERT_FILE: ca.bundle,
    REQUESTS_CA_BUNDLE: ca.bundle,
    CURL_CA_BUNDLE: ca.bundle,
  };
}
