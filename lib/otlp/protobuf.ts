/**
 * OTLP/HTTP protobuf encoding of spans (`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`): the
 * ExportTraceServiceRequest of opentelemetry-proto's collector/trace/v1, written field by field
 * (no generated code). Field numbers are trace.proto's, common.proto's and resource.proto's.
 */
import {
  type Attributes,
  type AttrValue,
  byResource,
  Double,
  type Resource,
  type Scope,
  type Span,
} from "./encode.ts";

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;

/** A growing buffer of protobuf wire format. */
class Writer {
  #buf = new Uint8Array(1024);
  #len = 0;
  static readonly #text = new TextEncoder();

  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.bytes());
    this.#buf = next;
  }

  #byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }

  /** An unsigned varint; a negative int64 as its 64-bit two's complement (ten bytes). */
  varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.#byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#byte(Number(v));
  }

  #tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  uint(field: number, value: number | bigint): void {
    this.#tag(field, VARINT);
    this.varint(value);
  }

  fixed64(field: number, value: bigint): void {
    this.#tag(field, FIXED64);
    this.#room(8);
    new DataView(this.#buf.buffer).setBigUint64(this.#len, BigInt.asUintN(64, value), true);
    this.#len += 8;
  }

  double(field: number, value: number): void {
    this.#tag(field, FIXED64);
    this.#room(8);
    new DataView(this.#buf.buffer).setFloat64(this.#len, value, true);
    this.#len += 8;
  }

  raw(field: number, data: Uint8Array): void {
    this.#tag(field, LEN);
    this.varint(data.length);
    this.#room(data.length);
    this.#buf.set(data, this.#len);
    this.#len += data.length;
  }

  string(field: number, value: string): void {
    this.raw(field, Writer.#text.encode(value));
  }

  /** A nested message, written by `body` into a writer of its own. */
  message(field: number, body: (w: Writer) => void): void {
    const inner = new Writer();
    body(inner);
    this.raw(field, inner.bytes());
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * AnyValue: a oneof, so a false, 0 or "" is written (it says which member is set). Integers
 * within 64 bits as int_value, as the JSON encoding does.
 */
function anyValue(w: Writer, v: AttrValue): void {
  switch (typeof v) {
    case "string":
      return w.string(1, v);
    case "boolean":
      return w.uint(2, v ? 1 : 0);
    case "bigint":
      return w.uint(3, v);
    case "number":
      return Number.isSafeInteger(v) ? w.uint(3, v) : w.double(4, v);
  }
  if (v instanceof Double) return w.double(4, v.value);
  if (Array.isArray(v)) {
    return w.message(5, (a) => {
      for (const x of v) a.message(1, (m) => anyValue(m, x));
    });
  }
  w.message(6, (kv) => keyValues(kv, 1, v as Attributes));
}

/** Attributes as repeated KeyValue at `field`, leaving out undefined ones. */
function keyValues(w: Writer, field: number, attrs: Attributes): void {
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined) continue;
    w.message(field, (kv) => {
      kv.string(1, key);
      kv.message(2, (m) => anyValue(m, v));
    });
  }
}

function span(w: Writer, s: Span): void {
  w.raw(1, hexBytes(s.traceId));
  w.raw(2, hexBytes(s.spanId));
  if (s.parentSpanId) w.raw(4, hexBytes(s.parentSpanId));
  w.string(5, s.name);
  w.uint(6, s.kind);
  w.fixed64(7, s.startNs);
  w.fixed64(8, s.endNs);
  keyValues(w, 9, s.attributes);
  for (const l of s.links ?? []) {
    w.message(13, (m) => {
      m.raw(1, hexBytes(l.traceId));
      m.raw(2, hexBytes(l.spanId));
      keyValues(m, 4, l.attributes);
    });
  }
  const status = s.status;
  if (status && status.code !== 0) {
    w.message(15, (m) => {
      if (status.message) m.string(2, status.message);
      m.uint(3, status.code);
    });
  }
}

/**
 * The protobuf body of one `POST /v1/traces`, as {@link encodeTraces} groups it: `spans` under
 * `resource`, or a span naming its agent under `resourceFor(agent)`; one scope.
 */
export function encodeTracesProto(
  resource: Resource,
  scope: Scope,
  spans: readonly Span[],
  resourceFor?: (agent: string) => Resource,
): Uint8Array {
  const w = new Writer();
  for (const [r, group] of byResource(resource, spans, resourceFor)) {
    w.message(1, (rs) => {
      rs.message(1, (m) => keyValues(m, 1, r.attributes));
      rs.message(2, (ss) => {
        ss.message(1, (sc) => {
          sc.string(1, scope.name);
          sc.string(2, scope.version);
        });
        for (const s of group) ss.message(2, (m) => span(m, s));
      });
    });
  }
  return w.bytes();
}

/**
 * `partial_success.rejected_spans` of a protobuf ExportTraceServiceResponse (0 when absent or
 * unreadable: the request was accepted).
 */
export function rejectedSpansProto(body: Uint8Array): number {
  const partial = field(body, 1, LEN);
  const rejected = partial instanceof Uint8Array ? field(partial, 1, VARINT) : undefined;
  return typeof rejected === "bigint" ? Number(BigInt.asIntN(64, rejected)) : 0;
}

/** The `message` of a protobuf google.rpc.Status (an OTLP/HTTP error answer), or "". */
export function statusMessageProto(body: Uint8Array): string {
  const message = field(body, 2, LEN);
  return message instanceof Uint8Array ? new TextDecoder().decode(message) : "";
}

/** The first occurrence of a field with this wire type: a varint or a length-delimited body. */
function field(buf: Uint8Array, want: number, wire: number): bigint | Uint8Array | undefined {
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; i < buf.length; shift += 7n) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
    throw new RangeError("truncated varint");
  };
  try {
    while (i < buf.length) {
      const tag = Number(varint());
      const [number, type] = [tag >>> 3, tag & 7];
      let value: bigint | Uint8Array;
      if (type === VARINT) value = varint();
      else if (type === FIXED64) (value = 0n, i += 8);
      else if (type === LEN) {
        const n = Number(varint());
        value = buf.subarray(i, i + n);
        i += n;
      } else if (type === 5) (value = 0n, i += 4);
      else return undefined;
      if (number === want && type === wire) return value;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
