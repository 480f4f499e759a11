/**
 * OTLP/HTTP JSON encoding of spans (opentelemetry-proto's JSON mapping): lowerCamelCase keys,
 * trace and span ids as hex (not base64, which the protobuf JSON mapping would otherwise use),
 * enums as integers, 64-bit integers (times, intValue) as decimal strings.
 */

/** A number sent as a double even when it is whole (integers go as intValue). */
export class Double {
  constructor(readonly value: number) {}
}

/** An attribute value as probe builds it; `undefined` attributes are left out. */
export type AttrValue =
  | Double
  | string
  | boolean
  | number
  | bigint
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

export type Attributes = Record<string, AttrValue | undefined>;

/** SpanKind of opentelemetry-proto's trace.proto. */
export const SPAN_KIND_INTERNAL = 1;
export const SPAN_KIND_CLIENT = 3;
/** Status codes of trace.proto: unset, ok, error. */
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

/** One finished span, times in nanoseconds since the Unix epoch. */
export interface Span {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Attributes;
  /** Spans of other traces this one relates to (a subagent's call that spawned it). */
  links?: { traceId: string; spanId: string; attributes: Attributes }[];
  status?: { code: number; message?: string };
  /**
   * The agent that sent the exchange, when the export recognised it (no --target): the span is
   * reported under a resource naming it. Not an attribute of its own.
   */
  agent?: string;
}

/** Who produced the spans: the `resource` of a ResourceSpans. */
export interface Resource {
  attributes: Attributes;
}

/** The instrumentation scope every probe span is reported under. */
export interface Scope {
  name: string;
  version: string;
}

type KeyValue = { key: string; value: AnyValue };
type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } };

/** The OTLP AnyValue of a value: integers (within 64 bits) as intValue strings. */
export function anyValue(v: AttrValue): AnyValue {
  switch (typeof v) {
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "bigint":
      return { intValue: v.toString() };
    case "number":
      return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  }
  if (v instanceof Double) return { doubleValue: v.value };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  return { kvlistValue: { values: keyValues(v as Attributes) } };
}

/** Attributes as OTLP KeyValues, in insertion order, leaving out undefined ones. */
export function keyValues(attrs: Attributes): KeyValue[] {
  const out: KeyValue[] = [];
  for (const key in attrs) {
    const v = attrs[key];
    if (v !== undefined) out.push({ key, value: anyValue(v) });
  }
  return out;
}

function encodeSpan(s: Span): Record<string, unknown> {
  const out: Record<string, unknown> = {
    traceId: s.traceId,
    spanId: s.spanId,
  };
  if (s.parentSpanId) out.parentSpanId = s.parentSpanId;
  out.name = s.name;
  out.kind = s.kind;
  out.startTimeUnixNano = s.startNs.toString();
  out.endTimeUnixNano = s.endNs.toString();
  out.attributes = keyValues(s.attributes);
  if (s.links && s.links.length > 0) {
    out.links = s.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      attributes: keyValues(l.attributes),
    }));
  }
  if (s.status && s.status.code !== STATUS_UNSET) {
    out.status = s.status.message
      ? { code: s.status.code, message: s.status.message }
      : { code: s.status.code };
  }
  return out;
}

/**
 * The body of one `POST /v1/traces`: an ExportTraceServiceRequest holding `spans`, under
 * `resource`, or a span naming its agent under `resourceFor(agent)` (one ResourceSpans each).
 */
export function encodeTraces(
  resource: Resource,
  scope: Scope,
  spans: readonly Span[],
  resourceFor?: (agent: string) => Resource,
): string {
  return JSON.stringify({
    resourceSpans: byResource(resource, spans, resourceFor).map(([r, group]) => ({
      resource: { attributes: keyValues(r.attributes) },
      scopeSpans: [{
        scope: { name: scope.name, version: scope.version },
        spans: group.map(encodeSpan),
      }],
    })),
  });
}

/** `spans` by resource: `resource`, or for a span naming its agent `resourceFor(agent)`. */
export function byResource(
  resource: Resource,
  spans: readonly Span[],
  resourceFor?: (agent: string) => Resource,
): [Resource, Span[]][] {
  const groups = new Map<string | undefined, Span[]>();
  for (const s of spans) {
    const agent = resourceFor ? s.agent : undefined;
    const group = groups.get(agent);
    if (group) group.push(s);
    else groups.set(agent, [s]);
  }
  return [...groups].map(([agent, group]) => [
    agent !== undefined ? resourceFor!(agent) : resource,
    group,
  ]);
}

/** Seconds since the epoch (as captures record them) to integer nanoseconds. */
export function secondsToNs(seconds: number): bigint {
  // Microsecond precision is what the capture's float seconds hold; more would be noise.
  return BigInt(Math.round(seconds * 1e6)) * 1000n;
}

/** `bytes` random bytes as lowercase hex: trace ids (16) and span ids (8). */
export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
