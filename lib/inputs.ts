/**
 * Many captures read as one: `--input` given several times, or a folder (a week of
 * `captures/`, each capture folder holding its traffic.jsonl), read as one stream of entries
 * in time order. Captures that do not overlap in time are read one after the other, so only
 * one is open at a time; overlapping ones are merged entry by entry.
 */
import { fileReason, InputError, UsageError } from "./errors.ts";
import { plural } from "./plural.ts";
import { isHarInput, readCaptureEntries } from "./har_read.ts";
import { inputName, type ReadLimits } from "./jsonl.ts";
import type { NumberedEntry } from "./types.ts";

/** An entry and the input it came from (a path, or "stdin"). */
export interface SourcedEntry extends NumberedEntry {
  source: string;
}

/** Reports a skipped line or HAR entry: the input's name, the line and the reason. */
export type SourcedMalformedHandler = (source: string, line: number, reason: string) => void;

/** The inputs that are HAR files, by the name warnings give them (their malformed "entry"). */
export async function harInputNames(paths: readonly string[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const p of paths) if (await isHarInput(p)) names.add(inputName(p));
  return names;
}

/** Malformed lines warned about one by one in a run; the rest are only counted. */
export const MALFORMED_WARNINGS = 10;

/**
 * Warns about each malformed line (an `entry` of an input in `harInputs`) up to `limit`, then
 * once that the rest are skipped unshown: a JSON document spread over lines would otherwise
 * print a warning for every line it has.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { malformedWarner } from "./inputs.ts";
 *
 * const said: string[] = [];
 * const warn = malformedWarner((line) => said.push(line), new Set(), 1);
 * for (const n of [1, 2, 3]) warn("x.json", n, "not JSON");
 * assert.deepEqual(said, [
 *   "warning: x.json:1: skipping malformed line (not JSON)",
 *   "warning: x.json: more malformed lines skipped, not shown one by one",
 * ]);
 * ```
 */
export function malformedWarner(
  warn: (line: string) => void,
  harInputs: ReadonlySet<string> = new Set(),
  limit = MALFORMED_WARNINGS,
): SourcedMalformedHandler {
  let count = 0;
  return (source, line, reason) => {
    count++;
    const what = harInputs.has(source) ? "entry" : "line";
    if (count <= limit) warn(`warning: ${source}:${line}: skipping malformed ${what} (${reason})`);
    else if (count === limit + 1) {
      warn(`warning: ${source}: more malformed ${what}s skipped, not shown one by one`);
    }
  };
}

/** File names a folder is searched for: JSONL captures (plain or gzip) and HAR files. */
const CAPTURE_FILE = /\.(jsonl|jsonl\.gz|har)$/i;

/**
 * The capture files the `--input` values name: a file (or "-" for standard input) as it is, a
 * folder as the capture files anywhere beneath it (`*.jsonl`, `*.jsonl.gz`, `*.har`, sorted by
 * path). A value may name one file twice; it is read once.
 *
 * @throws {InputError} for a missing path or a folder with no capture file.
 * @throws {UsageError} when "-" is given more than once.
 */
export async function expandInputs(values: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (!seen.has(path)) out.push(path);
    seen.add(path);
  };
  if (values.filter((v) => v === "-").length > 1) {
    throw new UsageError("--input - (standard input) can be given only once");
  }
  for (const value of values) {
    if (value === "-") {
      add(value);
      continue;
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(value);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new InputError(value, "no such file; check the --input path");
      }
      throw new InputError(value, `cannot read: ${fileReason(err)}`);
    }
    if (!info.isDirectory) {
      add(value);
      continue;
    }
    const found = await captureFilesIn(value);
    if (found.length === 0) {
      throw new InputError(
        value,
        "no capture file in this folder (looked for *.jsonl, *.jsonl.gz and *.har beneath it)",
      );
    }
    found.forEach(add);
  }
  return out;
}

async function captureFilesIn(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (path: string) => {
    const names: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(path)) names.push(e);
    } catch (err) {
      throw new InputError(path, `cannot list the folder: ${fileReason(err)}`);
    }
    for (const e of names) {
      const child = `${path.replace(/\/+$/, "")}/${e.name}`;
      if (e.isDirectory) await walk(child);
      else if (e.isFile && CAPTURE_FILE.test(e.name)) files.push(child);
    }
  };
  await walk(dir);
  return files.sort();
}

/** How several inputs are named in a report's header and an export's comment. */
export function inputsLabel(values: readonly string[], files: readonly string[]): string {
  // A value given twice is read once (expandInputs), and named once.
  const unique = [...new Set(values)];
  const named = unique.map(inputName).join(", ");
  const n = files.length;
  return n === unique.length ? named : `${named} (${plural(n, "capture file")})`;
}

/**
 * Streams the entries of several captures in time order (by each entry's timestamp, each
 * capture's own order kept). One input is read as it is. Of several, each is first read up to
 * its first entry: one without any (empty, binary, not a capture) is skipped with `onSkipped`
 * rather than failing the others.
 *
 * @throws {InputError} when no input holds an entry, or for an error after an input's first
 * entry (a line over the limit, a corrupt .gz).
 */
export async function* readInputs(
  paths: readonly string[],
  onMalformed: SourcedMalformedHandler,
  opts: {
    onBytes?: (count: number) => void;
    /** An input left out; the message names it (`PATH: empty file; ...`). */
    onSkipped?: (message: string) => void;
    limits?: ReadLimits;
  } = {},
): AsyncGenerator<SourcedEntry> {
  const open = (path: string, quiet = false) => {
    const source = inputName(path);
    return readCaptureEntries(
      path,
      quiet ? () => {} : (line, reason) => onMalformed(source, line, reason),
      quiet ? undefined : opts.onBytes,
      opts.limits,
    );
  };
  if (paths.length === 1) {
    const source = inputName(paths[0]);
    for await (const e of open(paths[0])) yield { ...e, source };
    return;
  }
  if (paths.includes("-")) {
    throw new UsageError("--input - (standard input) cannot be read with other inputs");
  }
  for (const path of paths) {
    // Several inputs are each read twice (first to order them): a pipe can be read only once.
    const info = await Deno.stat(path).catch(() => undefined);
    if (info && !info.isFile) {
      throw new UsageError(`--input ${path}: a pipe or device can only be the only input`);
    }
  }

  // Each input's first timestamp, read and let go: which to open first, and when.
  const pending: { path: string; first: number }[] = [];
  for (const path of paths) {
    const reader = open(path, true);
    try {
      const head = await reader.next();
      if (!head.done) pending.push({ path, first: head.value.entry.timestamp });
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      opts.onSkipped?.(err.message);
    } finally {
      await reader.return(undefined);
    }
  }
  if (pending.length === 0) {
    throw new InputError(paths.join(", "), "none of these inputs holds an entry");
  }
  pending.sort((a, b) => a.first - b.first);

  interface Open {
    source: string;
    reader: AsyncGenerator<NumberedEntry>;
    head: NumberedEntry;
  }
  const active: Open[] = [];
  let next = 0;
  const start = async (path: string) => {
    const reader = open(path);
    const head = await reader.next();
    if (!head.done) active.push({ source: path, reader, head: head.value });
  };
  try {
    while (active.length > 0 || next < pending.length) {
      // The earliest head among the open inputs; an input whose first entry is not later
      // opens before it is passed.
      let min = -1;
      for (let i = 0; i < active.length; i++) {
        if (min === -1 || active[i].head.entry.timestamp < active[min].head.entry.timestamp) {
          min = i;
        }
      }
      if (
        next < pending.length &&
        (min === -1 || pending[next].first <= active[min].head.entry.timestamp)
      ) {
        await start(pending[next++].path);
        continue;
      }
      const current = active[min];
      yield { ...current.head, source: current.source };
      const after = await current.reader.next();
      if (after.done) active.splice(min, 1);
      else current.head = after.value;
    }
  } finally {
    for (const a of active) await a.reader.return(undefined);
  }
}

/**
 * Refuses an output that is one of the inputs (the same file by another path or a hard link
 * too): the report or HAR would replace the capture it is made from.
 *
 * @throws {UsageError} naming the output and the input.
 */
export async function refuseOverwritingInput(
  output: string,
  inputs: string | readonly string[],
  flag: string,
): Promise<void> {
  if (output === "-") return;
  const id = async (path: string) => {
    try {
      const info = await Deno.stat(path);
      return info.dev !== null && info.ino !== null ? `${info.dev}:${info.ino}` : undefined;
    } catch {
      return undefined; // missing: nothing to overwrite (or the reader says so)
    }
  };
  const out = await id(output);
  if (out === undefined) return;
  for (const input of typeof inputs === "string" ? [inputs] : inputs) {
    if (input !== "-" && (await id(input)) === out) {
      throw new UsageError(
        `${flag} ${output} is the input ${input}; writing it would overwrite the capture ` +
          `(name another file)`,
      );
    }
  }
}
