/**
 * `probe export --har`: capture → HAR 1.2, with the report's redaction (secret headers by
 * name, secret query parameters in URLs). Streams: one entry in memory at a time for a JSONL
 * input (a HAR input is read whole, see lib/har_read.ts).
 */
import { replaceFile } from "./atomic_file.ts";
import { writeHar } from "./har.ts";
import { harInputNames, malformedWarner, readInputs, refuseOverwritingInput } from "./inputs.ts";
import { inputName, type ReadLimits } from "./jsonl.ts";
import { headerRedactor } from "./redact.ts";
import { redactEntry } from "./redact_entry.ts";
import type { Entry } from "./types.ts";

export { redactEntry };

/** What `exportHar` reads, writes and redacts. */
export interface ExportOptions {
  /**
   * A JSONL capture (or a HAR, which is re-exported redacted), "-" for standard input, or
   * several, exported as one in time order (lib/inputs.ts).
   */
  input: string | readonly string[];
  /** How the input is named in the HAR's comment; the paths by default. */
  sourceLabel?: string;
  /** Limits on the input (the longest line). */
  limits?: ReadLimits;
  /** The HAR path, or "-" for standard output. */
  output: string;
  /** Header names to redact besides the built-in list (the target's `redactedHeaders`). */
  redactHeaders: readonly string[];
  /** Receives warnings (one line each, no trailing newline). */
  warn: (line: string) => void;
}

/** What `exportHar` wrote. */
export interface ExportResult {
  entries: number;
  /** The HAR path, or "-". */
  output: string;
}

/**
 * Writes the input's entries as a HAR file. Malformed lines are skipped with a warning, as in
 * `analyze`. A file is written beside its destination and renamed into place, so a failed run
 * never leaves half a HAR where a good one was.
 *
 * @throws {InputError} for an unreadable input; {ProbeError} when the output cannot be written.
 */
export async function exportHar(opts: ExportOptions): Promise<ExportResult> {
  await refuseOverwritingInput(opts.output, opts.input, "--har");
  const redact = headerRedactor(opts.redactHeaders);
  const paths = typeof opts.input === "string" ? [opts.input] : opts.input;
  const source = readInputs(paths, malformedWarner(opts.warn, await harInputNames(paths)), {
    limits: opts.limits,
    onSkipped: (message) => opts.warn(`warning: skipping ${message}`),
  });
  // The first entry is read before anything is written: a missing, empty or unreadable input
  // fails with nothing on standard output and no file left behind.
  const first = await source.next();
  async function* redacted(): AsyncGenerator<Entry> {
    if (first.done) return;
    yield redactEntry(first.value.entry, redact);
    for await (const { entry } of source) yield redactEntry(entry, redact);
  }
  const comment = `exported by probe from ${opts.sourceLabel ?? paths.map(inputName).join(", ")}`;

  if (opts.output === "-") {
    const entries = await writeHar(redacted(), Deno.stdout.writable, { comment });
    return { entries, output: "-" };
  }
  const entries = await replaceFile(
    opts.output,
    "HAR",
    (partial) => writeHar(redacted(), partial, { comment }),
  );
  return { entries, output: opts.output };
}
