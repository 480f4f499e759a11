/**
 * `probe export --otlp`: a capture file → spans at an OTLP/HTTP endpoint (a Collector). Entries
 * are redacted as for every other output, turned into spans one at a time and queued; the
 * reader waits for room rather than dropping (a file can wait, an agent cannot).
 */
import { ProbeError } from "../errors.ts";
import { redactEntry } from "../redact_entry.ts";
import { readInputs } from "../inputs.ts";
import { headerRedactor } from "../redact.ts";
import type { Entry, Renderer } from "../types.ts";
import { type DeliveryStats, lastReason, SpanDelivery } from "./delivery.ts";
import type { OtlpEndpoint } from "./endpoint.ts";
import { agentResources, probeResource, SCOPE } from "./resource.ts";
import { SpanBuilder } from "./spans.ts";

export interface OtlpExportOptions {
  /** A capture, "-" for standard input, or several, read as one in time order. */
  input: string | readonly string[];
  endpoint: OtlpEndpoint;
  /** Record prompts and answers (`--otlp-content`). */
  content: boolean;
  /** The agent, for the resource (the target's name), when known. */
  agent?: string;
  /**
   * Without `agent`: the agent an exchange's request headers name (`recognizedBy`), if any;
   * its spans are reported under a resource naming it.
   */
  recognize?: (entry: Entry) => string | undefined;
  rendererFor: (entry: Entry) => Renderer;
  /** Header names to redact besides the built-in list. */
  redactHeaders: readonly string[];
  /** The agents' session headers (`Target.sessionHeaders`). */
  sessionHeaders: readonly string[];
  warn: (line: string) => void;
  /** How long to keep retrying an endpoint that is down, in ms. */
  patienceMs?: number;
}

export interface OtlpExportResult {
  entries: number;
  spans: number;
  delivery: DeliveryStats;
}

export async function exportOtlp(opts: OtlpExportOptions): Promise<OtlpExportResult> {
  const redact = headerRedactor(opts.redactHeaders);
  const builder = new SpanBuilder({
    rendererFor: opts.rendererFor,
    content: opts.content,
    agent: opts.agent,
    sessionHeaders: opts.sessionHeaders,
    agentOf: opts.agent === undefined ? opts.recognize : undefined,
  });
  const patience = opts.patienceMs ?? 30_000;
  const delivery = new SpanDelivery({
    url: opts.endpoint.url,
    headers: opts.endpoint.headers,
    protocol: opts.endpoint.protocol,
    resource: probeResource(opts.agent),
    resourceFor: agentResources(),
    scope: SCOPE,
    giveUpMs: patience,
    // Said at once: the export may otherwise wait out its patience without a word.
    onRetrying: (reason) =>
      opts.warn(
        `warning: ${opts.endpoint.url} did not take the spans (${reason}); ` +
          `retrying for up to ${Math.round(patience / 1000)} s`,
      ),
  });
  let entries = 0;
  let spans = 0;
  try {
    const paths = typeof opts.input === "string" ? [opts.input] : opts.input;
    const source = readInputs(paths, (name, line, reason) => {
      opts.warn(`warning: ${name}:${line}: skipping malformed line (${reason})`);
    }, { onSkipped: (message) => opts.warn(`warning: skipping ${message}`) });
    for await (const { entry } of source) {
      entries++;
      for (const span of builder.add(redactEntry(entry, redact))) {
        spans++;
        await delivery.put(span);
      }
    }
    for (const span of builder.finish()) {
      spans++;
      await delivery.put(span);
    }
  } finally {
    await delivery.close(patience);
  }
  const stats = delivery.stats;
  if (stats.sent < spans) {
    const reason = lastReason(stats, opts.endpoint.url);
    throw new ProbeError(
      `${spans - stats.sent} of ${spans} spans not delivered to ${opts.endpoint.url}` +
        (reason ? ` (${reason})` : "") +
        "; is the Collector running? (probe export --otlp URL, URL like http://127.0.0.1:4318)",
    );
  }
  return { entries, spans, delivery: stats };
}
