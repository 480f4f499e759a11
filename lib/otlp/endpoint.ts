/**
 * Where spans go and with which headers: `--otlp URL` (a base URL, as OTEL_EXPORTER_OTLP_ENDPOINT;
 * `/v1/traces` is appended) or the standard variables OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used
 * as is) and OTEL_EXPORTER_OTLP_ENDPOINT; OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`,
 * percent-encoded values) and OTEL_EXPORTER_OTLP_TRACES_HEADERS add request headers;
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL pick `http/json` (probe's
 * default) or `http/protobuf`.
 */
import { UsageError } from "../errors.ts";
import { withoutPassword } from "../upstream_url.ts";

export type OtlpProtocol = "http/json" | "http/protobuf";

export interface OtlpEndpoint {
  /** The full traces URL. */
  url: string;
  headers: Record<string, string>;
  protocol: OtlpProtocol;
}

/** The protocol the standard variables ask for (the signal's own first), http/json if none. */
function protocolOf(env: Record<string, string | undefined>): OtlpProtocol {
  for (const name of ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (value === "http/json" || value === "http/protobuf") return value;
    throw new UsageError(
      `${name}="${value}": probe speaks OTLP over HTTP; set http/protobuf or http/json` +
        (value === "grpc" ? " (gRPC is not supported; the Collector's HTTP port is 4318)" : ""),
    );
  }
  return "http/json";
}

/** `base` + `/v1/traces`, unless the URL already names that path. */
function tracesUrl(base: string): string {
  if (/\/v1\/traces\/?$/.test(base)) return base;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

function checkUrl(url: string, from: string): string {
  // Messages name the URL without its password.
  const shown = withoutPassword(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${from}: "${shown}" is not a URL; e.g. http://127.0.0.1:4318`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(
      `${from}: "${shown}" must be http:// or https:// (OTLP/HTTP; gRPC is not supported)`,
    );
  }
  if (parsed.username || parsed.password) {
    // Kept, it would be printed with every delivery message.
    throw new UsageError(
      `${from}: "${shown}": a login in the URL is not sent; give the credentials as a header, ` +
        `e.g. OTEL_EXPORTER_OTLP_HEADERS="authorization=Basic <base64 of user:password>"`,
    );
  }
  return url;
}

/** Parses `k=v,k2=v2` (W3C Baggage-like, values percent-decoded). */
export function parseHeaders(text: string, from: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = eq === -1 ? "" : pair.slice(0, eq).trim();
    if (!key) throw new UsageError(`${from}: "${pair.trim()}" is not key=value`);
    let value = pair.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: kept as written.
    }
    out[key.toLowerCase()] = value;
  }
  return out;
}

/**
 * The endpoint from `--otlp` (when given) or the environment; undefined when neither names one.
 */
export function resolveEndpoint(
  flag: string | undefined,
  env: Record<string, string | undefined>,
): OtlpEndpoint | undefined {
  let url: string | undefined;
  if (flag !== undefined && flag !== "") url = tracesUrl(checkUrl(flag, "--otlp"));
  else if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    url = checkUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  } else if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    url = tracesUrl(checkUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, "OTEL_EXPORTER_OTLP_ENDPOINT"));
  }
  if (url === undefined) return undefined;
  const protocol = protocolOf(env);
  const headers = {
    ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS ?? "", "OTEL_EXPORTER_OTLP_HEADERS"),
    ...parseHeaders(
      env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? "",
      "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ),
  };
  return { url, headers, protocol };
}
