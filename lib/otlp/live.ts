/**
 * `probe capture --otlp URL`: spans sent while the capture runs. It follows the capture file
 * as mitmdump appends to it (a read every POLL_MS from where the last one ended), so nothing
 * of the capture path changes: the addon writes, probe reads behind it. Spans are offered to a
 * bounded queue that drops rather than waits, so a slow or absent Collector never holds up
 * the agent, and the file on disk stays the complete record whatever happens to the export.
 */
import { redactEntry } from "../redact_entry.ts";
import { entryProblem, normalize } from "../jsonl.ts";
import { headerRedactor } from "../redact.ts";
import type { Entry, Renderer } from "../types.ts";
import { type DeliveryStats, lastReason, SpanDelivery } from "./delivery.ts";
import type { OtlpEndpoint } from "./endpoint.ts";
import { probeResource, SCOPE } from "./resource.ts";
import { SpanBuilder } from "./spans.ts";

const POLL_MS = 200;
const READ_SIZE = 1 << 16;
/**
 * Bytes of capture read between two collections (1 MiB: 79 MB peak RSS in the bench against 83 with 4 MiB and 97 with none). Each exchange read leaves garbage several
 * times its size (parsed bodies, the response reassembled), and V8 lets an idle process's heap
 * grow well past what it keeps: a full collection now and then (the probe task runs with
 * --expose-gc) holds probe's own process near its floor while it captures.
 */
const COLLECT_EVERY = 1 << 20;

export interface LiveExportOptions {
  /** The capture file being written. */
  file: string;
  endpoint: OtlpEndpoint;
  content: boolean;
  agent: string;
  rendererFor: (entry: Entry) => Renderer;
  redactHeaders: readonly string[];
  /** The agent's session headers (`Target.sessionHeaders`). */
  sessionHeaders: readonly string[];
  /** How long `stop` waits for the last spans to go out, in ms. */
  closeMs?: number;
}

export interface LiveExportResult extends DeliveryStats {
  spans: number;
  url: string;
}

export class LiveExport implements AsyncDisposable {
  readonly #opts: LiveExportOptions;
  readonly #builder: SpanBuilder;
  readonly #delivery: SpanDelivery;
  readonly #redact: ReturnType<typeof headerRedactor>;
  readonly #decoder = new TextDecoder();
  #file?: Deno.FsFile;
  #carry = "";
  #spans = 0;
  #sinceCollect = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #reading?: Promise<void>;
  #result?: Promise<LiveExportResult>;

  constructor(opts: LiveExportOptions) {
    this.#opts = opts;
    this.#builder = new SpanBuilder({
      rendererFor: opts.rendererFor,
      content: opts.content,
      agent: opts.agent,
      sessionHeaders: opts.sessionHeaders,
    });
    this.#redact = headerRedactor(opts.redactHeaders);
    this.#delivery = new SpanDelivery({
      url: opts.endpoint.url,
      headers: opts.endpoint.headers,
      protocol: opts.endpoint.protocol,
      resource: probeResource(opts.agent),
      scope: SCOPE,
    });
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#reading = this.#readNew().finally(() => {
        if (this.#result === undefined) this.#schedule();
      });
    }, POLL_MS);
  }

  /** Reads what was appended since the last read and turns its whole lines into spans. */
  async #readNew(): Promise<void> {
    try {
      this.#file ??= await Deno.open(this.#opts.file, { read: true });
    } catch {
      return; // not there yet
    }
    const buf = new Uint8Array(READ_SIZE);
    for (;;) {
      const n = await this.#file.read(buf);
      if (n === null || n === 0) break;
      this.#sinceCollect += n;
      const text = this.#decoder.decode(buf.subarray(0, n), { stream: true });
      // A long line arrives over many reads: it is split once its end has come.
      this.#carry += text;
      if (!text.includes("\n")) continue;
      const lines = this.#carry.split("\n");
      this.#carry = lines.pop()!;
      for (const line of lines) this.#line(line);
    }
    if (this.#sinceCollect >= COLLECT_EVERY) {
      this.#sinceCollect = 0;
      (globalThis as { gc?: () => void }).gc?.();
    }
  }

  #line(text: string): void {
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return; // the analyzer reports bad lines; the export skips them
    }
    if (entryProblem(value) !== null) return;
    const entry = normalize(value as Record<string, unknown>);
    try {
      for (const span of this.#builder.add(redactEntry(entry, this.#redact))) this.#offer(span);
    } catch {
      // An entry no renderer could read is no reason to stop exporting the others.
    }
  }

  #offer(span: Parameters<SpanDelivery["offer"]>[0]): void {
    this.#spans++;
    this.#delivery.offer(span);
  }

  /** Reads the rest of the file, sends what is queued (waiting at most `closeMs`), and stops. */
  stop(): Promise<LiveExportResult> {
    this.#result ??= (async () => {
      clearTimeout(this.#timer);
      await this.#reading;
      await this.#readNew();
      if (this.#carry.trim() !== "") this.#line(this.#carry);
      this.#carry = "";
      this.#file?.close();
      for (const span of this.#builder.finish()) this.#offer(span);
      const stats = await this.#delivery.close(this.#opts.closeMs ?? 5000);
      return { ...stats, spans: this.#spans, url: this.#opts.endpoint.url };
    })();
    return this.#result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The closing line: how many spans went where, and what was dropped or failed. */
export function liveSummary(r: LiveExportResult): string {
  const lost = [
    r.dropped ? `${r.dropped} dropped (queue full)` : "",
    r.failed ? `${r.failed} not delivered` : "",
  ].filter(Boolean).join(", ");
  const reason = lastReason(r, r.url);
  return `OTLP: ${r.sent} of ${r.spans} spans sent to ${r.url}` +
    (lost ? `; ${lost}${reason ? ` (last error: ${reason})` : ""}` : "");
}
