/**
 * The OTLP side of the command line: `export --otlp` and the endpoint `--otlp URL` names
 * ("env" for the standard OTEL_EXPORTER_OTLP_* variables).
 */
import { rendererChooser } from "../renderer_choice.ts";
import { UsageError } from "../errors.ts";
import { plural } from "../plural.ts";
import { AgentTally, extraRedactions } from "../recognize.ts";
import type { Entry, Renderer, Target } from "../types.ts";
import { type OtlpEndpoint, resolveEndpoint } from "./endpoint.ts";
import { LiveExport } from "./live.ts";

export { liveSummary } from "./live.ts";

/** Where the spans go: `--otlp URL`, or with "env" the standard variables. */
export function otlpEndpoint(flag: string, env = Deno.env.toObject()): OtlpEndpoint {
  const endpoint = resolveEndpoint(flag === "env" ? undefined : flag, env);
  if (!endpoint) {
    throw new UsageError(
      "--otlp env: neither OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT " +
        "is set; set one or pass --otlp http://HOST:4318",
    );
  }
  return endpoint;
}

/**
 * The headers an export masks besides the built-in list, and the session headers it reads: as
 * analyze and the HAR export, the target's, or without one every known agent's.
 */
export function targetHeaders(
  target: Target | undefined,
  targets: readonly Target[],
): { redactHeaders: string[]; sessionHeaders: string[] } {
  return {
    redactHeaders: extraRedactions(target, targets),
    sessionHeaders: (target ? [target] : targets).flatMap((t) => t.sessionHeaders ?? []),
  };
}

export async function otlpExportCommand(opts: {
  url: string;
  input: string | readonly string[];
  content: boolean;
  target?: Target;
  /** The built-in targets: without `target`, their redactions and session headers apply. */
  targets: readonly Target[];
  renderers: ReadonlyMap<string, Renderer>;
  print: (line: string) => void;
  warn: (line: string) => void;
}): Promise<void> {
  const endpoint = otlpEndpoint(opts.url);
  const { exportOtlp } = await import("./export.ts");
  const result = await exportOtlp({
    input: opts.input,
    endpoint,
    content: opts.content,
    agent: opts.target?.name,
    recognize: recognizer(opts.targets),
    rendererFor: rendererChooser(opts.renderers, opts.target),
    ...targetHeaders(opts.target, opts.targets),
    warn: opts.warn,
    // How long an unreachable endpoint is retried (30 s by default; tests shorten it).
    patienceMs: Number(Deno.env.get("PROBE_OTLP_PATIENCE_MS")) || undefined,
  });
  opts.print(
    `Sent ${plural(result.spans, "span")} (${plural(result.entries, "exchange")}) to ` +
      endpoint.url +
      (opts.content ? " with content" : "") +
      (endpoint.protocol === "http/protobuf" ? " (protobuf)" : ""),
  );
}

/** The agent whose `recognizedBy` headers an exchange's request carries, by name. */
function recognizer(targets: readonly Target[]): (entry: Entry) => string | undefined {
  const tally = new AgentTally(targets);
  return (entry) => tally.recognize(entry.request.headers)?.name;
}

/** Starts following a capture file being written, sending its exchanges as spans. */
export function startLiveExport(opts: {
  file: string;
  endpoint: OtlpEndpoint;
  content: boolean;
  target: Target;
  renderers: ReadonlyMap<string, Renderer>;
}): LiveExport {
  return new LiveExport({
    file: opts.file,
    endpoint: opts.endpoint,
    content: opts.content,
    agent: opts.target.name,
    rendererFor: rendererChooser(opts.renderers, opts.target),
    redactHeaders: opts.target.redactedHeaders,
    sessionHeaders: opts.target.sessionHeaders ?? [],
  });
}
