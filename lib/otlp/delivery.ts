/**
 * Delivery of spans to an OTLP/HTTP endpoint that never holds up the capture: spans wait in a
 * bounded queue and go out in gzip'd batches, one request at a time; 429, 5xx and connection
 * errors are retried with exponential backoff (and the server's Retry-After); when the queue
 * is full a new span is dropped and counted, never waited for (`offer`). A reader that can
 * wait (export of a file) uses `put`, which waits for room instead.
 */
import { encodeTraces, type Resource, type Scope, type Span } from "./encode.ts";
import type { OtlpProtocol } from "./endpoint.ts";
import { encodeTracesProto, rejectedSpansProto, statusMessageProto } from "./protobuf.ts";

export interface DeliveryOptions {
  /** The traces endpoint, e.g. http://127.0.0.1:4318/v1/traces. */
  url: string;
  /** Extra request headers (OTEL_EXPORTER_OTLP_HEADERS). */
  headers?: Record<string, string>;
  /** The body's encoding: OTLP's JSON mapping (the default) or protobuf. */
  protocol?: OtlpProtocol;
  resource: Resource;
  /** The resource of a span that names its agent (`Span.agent`). */
  resourceFor?: (agent: string) => Resource;
  scope: Scope;
  /** Spans held at most; more are dropped. */
  maxQueue?: number;
  /** Spans per request at most. */
  maxBatch?: number;
  /** How long a span may wait for a fuller batch, in ms. */
  flushMs?: number;
  /** First retry delay, doubled per attempt up to `maxBackoffMs`. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout, in ms. */
  timeoutMs?: number;
  gzip?: boolean;
  /**
   * How long one batch is retried before it counts as failed, in ms. Unbounded by default: a
   * live capture keeps its queue (bounded) for a Collector that comes back.
   */
  giveUpMs?: number;
  /** Injected by tests. */
  fetch?: typeof fetch;
  /** Told once, at the first failure that will be retried, with its reason. */
  onRetrying?: (reason: string) => void;
}

/** What happened to the spans, for the closing message. */
export interface DeliveryStats {
  /** Spans the endpoint accepted. */
  sent: number;
  /** Spans dropped because the queue was full. */
  dropped: number;
  /** Spans the endpoint rejected, or still unsent when delivery gave up. */
  failed: number;
  /** Requests retried. */
  retries: number;
  /** The last error seen (one line), if any. */
  lastError?: string;
}

type Settings =
  & Required<Omit<DeliveryOptions, "resourceFor" | "onRetrying">>
  & Pick<DeliveryOptions, "resourceFor" | "onRetrying">;

class RetryableError extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

export class SpanDelivery implements AsyncDisposable {
  readonly #opts: Settings;
  #queue: Span[] = [];
  #stats: DeliveryStats = { sent: 0, dropped: 0, failed: 0, retries: 0 };
  #loop: Promise<void>;
  /** Wakes the loop: a full batch, or closing. */
  #wake?: () => void;
  /** Wakes `put` callers waiting for room. */
  #room: (() => void)[] = [];
  #closing = false;
  #toldRetrying = false;
  /** Aborted when delivery must stop now (close's deadline passed). */
  #abort = new AbortController();

  constructor(opts: DeliveryOptions) {
    this.#opts = {
      headers: {},
      protocol: "http/json",
      maxQueue: 2048,
      maxBatch: 512,
      flushMs: 1000,
      backoffMs: 250,
      maxBackoffMs: 5000,
      timeoutMs: 10_000,
      gzip: true,
      giveUpMs: Infinity,
      fetch: globalThis.fetch,
      ...opts,
    };
    this.#loop = this.#run();
  }

  get stats(): DeliveryStats {
    return { ...this.#stats };
  }

  /** Queues a span, or drops it (and counts it) when the queue is full. Never waits. */
  offer(span: Span): boolean {
    if (this.#closing || this.#queue.length >= this.#opts.maxQueue) {
      this.#stats.dropped++;
      return false;
    }
    this.#queue.push(span);
    if (this.#queue.length >= this.#opts.maxBatch) this.#wake?.();
    return true;
  }

  /** Queues a span, waiting for room while the queue is full. */
  async put(span: Span): Promise<void> {
    while (this.#queue.length >= this.#opts.maxQueue && !this.#closing) {
      await new Promise<void>((resolve) => this.#room.push(resolve));
    }
    this.offer(span);
  }

  /**
   * Sends what is queued and stops. Spans still unsent after `deadlineMs` (the endpoint is
   * down or slow) are counted as failed.
   */
  async close(deadlineMs = 5000): Promise<DeliveryStats> {
    this.#closing = true;
    this.#wake?.();
    for (const resolve of this.#room.splice(0)) resolve();
    const timer = setTimeout(() => this.#abort.abort(), deadlineMs);
    try {
      await this.#loop;
    } finally {
      clearTimeout(timer);
    }
    this.#stats.failed += this.#queue.length;
    this.#queue = [];
    return this.stats;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#queue.length < this.#opts.maxBatch && !this.#closing) {
        // Wait for a full batch, the flush interval, or close.
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, this.#opts.flushMs);
          function done() {
            clearTimeout(t);
            resolve();
          }
          this.#wake = done;
        });
        this.#wake = undefined;
      }
      if (this.#queue.length === 0) {
        if (this.#closing) return;
        continue;
      }
      if (this.#abort.signal.aborted) return;
      const batch = this.#queue.splice(0, this.#opts.maxBatch);
      for (const resolve of this.#room.splice(0)) resolve();
      await this.#deliver(batch);
    }
  }

  /** Sends one batch, retrying while that makes sense and delivery is not aborted. */
  async #deliver(batch: Span[]): Promise<void> {
    const { resource, scope, resourceFor } = this.#opts;
    const body = await this.#body(
      this.#opts.protocol === "http/protobuf"
        ? encodeTracesProto(resource, scope, batch, resourceFor)
        : new TextEncoder().encode(encodeTraces(resource, scope, batch, resourceFor)),
    );
    let delay = this.#opts.backoffMs;
    const giveUpAt = Date.now() + this.#opts.giveUpMs;
    for (let attempt = 0;; attempt++) {
      if (attempt > 0) this.#stats.retries++;
      try {
        const rejected = await this.#post(body);
        this.#stats.sent += batch.length - rejected;
        this.#stats.failed += rejected;
        return;
      } catch (err) {
        this.#stats.lastError = (err as Error).message;
        if (
          !(err instanceof RetryableError) || this.#abort.signal.aborted || Date.now() >= giveUpAt
        ) {
          this.#stats.failed += batch.length;
          return;
        }
        if (!this.#toldRetrying) {
          this.#toldRetrying = true;
          this.#opts.onRetrying?.(lastReason(this.#stats, this.#opts.url) ?? "");
        }
        // Full jitter keeps many probes from retrying in step against one Collector.
        const wait = err.retryAfterMs ?? delay * (0.5 + Math.random() / 2);
        await sleep(Math.min(wait, this.#opts.maxBackoffMs), this.#abort.signal);
        if (this.#abort.signal.aborted) {
          this.#stats.failed += batch.length;
          return;
        }
        delay = Math.min(delay * 2, this.#opts.maxBackoffMs);
      }
    }
  }

  async #body(bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.#opts.gzip) return bytes;
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(
      new CompressionStream("gzip"),
    );
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /** One POST; returns the spans the endpoint rejected (partial success). */
  async #post(body: Uint8Array): Promise<number> {
    const headers: Record<string, string> = {
      ...this.#opts.headers,
      "content-type": this.#opts.protocol === "http/protobuf"
        ? "application/x-protobuf"
        : "application/json",
    };
    if (this.#opts.gzip) headers["content-encoding"] = "gzip";
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    let res: Response;
    try {
      res = await this.#opts.fetch(this.#opts.url, {
        method: "POST",
        headers,
        body: body as BodyInit,
        signal: AbortSignal.any([timeout, this.#abort.signal]),
      });
    } catch (err) {
      throw new RetryableError(`${this.#opts.url}: ${oneLine((err as Error).message)}`);
    }
    const answer = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
    const proto = res.headers.get("content-type")?.includes("protobuf") ?? false;
    if (res.ok) {
      return proto ? rejectedSpansProto(answer) : rejectedSpans(new TextDecoder().decode(answer));
    }
    // A protobuf error answer is a google.rpc.Status: its message is what a person can read.
    const text = proto ? statusMessageProto(answer) : new TextDecoder().decode(answer);
    const what = `${this.#opts.url}: HTTP ${res.status}${text ? ` ${oneLine(text, 200)}` : ""}`;
    if (res.status === 429 || res.status === 502 || res.status === 503 || res.status === 504) {
      throw new RetryableError(what, retryAfter(res.headers.get("retry-after")));
    }
    if (res.status >= 500) throw new RetryableError(what);
    throw new Error(what);
  }
}

/** The last error without the endpoint's URL in front (for a message that names it already). */
export function lastReason(stats: DeliveryStats, url: string): string | undefined {
  const e = stats.lastError;
  return e?.startsWith(`${url}: `) ? e.slice(url.length + 2) : e;
}

function oneLine(text: string, max = 300): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** Retry-After in seconds (an HTTP date is rare from a Collector and treated as absent). */
function retryAfter(value: string | null): number | undefined {
  if (!value || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value) * 1000;
}

/** `partialSuccess.rejectedSpans` of an ExportTraceServiceResponse (a string or a number). */
function rejectedSpans(text: string): number {
  try {
    const n = Number(JSON.parse(text)?.partialSuccess?.rejectedSpans ?? 0);
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}
