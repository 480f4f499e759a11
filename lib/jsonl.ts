/**
 * Reads a capture as a stream: bytes → lines → entries, one line in memory at a time (plus
 * the chunks read ahead, a few megabytes), so memory does not grow with the file.
 */
import { InputError } from "./errors.ts";
import type { Entry, NumberedEntry } from "./types.ts";

/** A line of text with its 1-based line number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * Splits decoded text chunks into lines. Ends at LF (a preceding CR is dropped); the last
 * line is emitted even without a newline. Parts of a long line are joined once, when it ends.
 */
export class LineSplitStream extends TransformStream<string, NumberedLine> {
  constructor() {
    let pending: string[] = [];
    let lineNo = 0;
    const emit = (text: string, controller: TransformStreamDefaultController<NumberedLine>) => {
      lineNo++;
      controller.enqueue({
        line: lineNo,
        text: text.endsWith("\r") ? text.slice(0, -1) : text,
      });
    };
    super({
      transform(chunk, controller) {
        let start = 0;
        let nl = chunk.indexOf("\n");
        while (nl !== -1) {
          let text = chunk.slice(start, nl);
          if (pending.length > 0) {
            pending.push(text);
            text = pending.join("");
            pending = [];
          }
          emit(text, controller);
          start = nl + 1;
          nl = chunk.indexOf("\n", start);
        }
        if (start < chunk.length) pending.push(chunk.slice(start));
      },
      flush(controller) {
        if (pending.length > 0) emit(pending.join(""), controller);
      },
    });
  }
}

/** Why a parsed JSON value is not an entry, or null when it is one. */
export function entryProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "not a JSON object";
  }
  const v = value as Record<string, unknown>;
  if (typeof v.timestamp !== "number" || !Number.isFinite(v.timestamp)) {
    return "missing or non-numeric timestamp";
  }
  const req = v.request;
  if (typeof req !== "object" || req === null || Array.isArray(req)) return "missing request";
  const r = req as Record<string, unknown>;
  if (typeof r.method !== "string") return "request.method is not a string";
  if (typeof r.url !== "string") return "request.url is not a string";
  if (r.headers !== undefined && !isHeaderMap(r.headers)) {
    return "request.headers is not an object of strings";
  }
  const res = v.response;
  if (res !== undefined && res !== null) {
    if (typeof res !== "object" || Array.isArray(res)) return "response is not an object";
    const s = res as Record<string, unknown>;
    if (typeof s.status_code !== "number") return "response.status_code is not a number";
    if (s.headers !== undefined && !isHeaderMap(s.headers)) {
      return "response.headers is not an object of strings";
    }
  }
  return null;
}

function isHeaderMap(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  for (const k in value) {
    if (typeof (value as Record<string, unknown>)[k] !== "string") return false;
  }
  return true;
}

/** Fills the optional parts older recorders leave out, so consumers need fewer checks. */
export function normalize(value: Record<string, unknown>): Entry {
  const entry = value as unknown as Entry;
  entry.request.headers ??= {};
  if (entry.request.body === undefined) entry.request.body = null;
  if (entry.response === undefined) entry.response = null;
  if (entry.response) {
    entry.response.headers ??= {};
    if (entry.response.body === undefined) entry.response.body = null;
  }
  return entry;
}

/** Reports a skipped line: `FILE:LINE` and the reason. */
export type MalformedLineHandler = (line: number, reason: string) => void;

/** Bytes are checked for NUL in the first 64 KiB: JSONL text never holds one. */
const SNIFF_BYTES = 64 * 1024;

/**
 * Read size. Each read costs the reader a wait: Deno hands an async read's result over only
 * when this thread returns to its event loop, so reads are not hidden behind the analysis of
 * the previous chunk. Fewer, larger reads wait less: 512 KiB analyzed a 100 MB capture in
 * 0.68 s against 0.73 s with 256 KiB (1 MiB was no faster).
 */
const READ_SIZE = 1 << 19;

/**
 * The file's text, decoded as UTF-8 (invalid bytes become U+FFFD), in chunks of about
 * {@link READ_SIZE} bytes that end at a line end whenever a line fits in a read, so the line
 * splitter hands out slices of a chunk rather than copies joined from two. Up to four chunks
 * are read ahead of the reader, so it rarely waits for the disk. One byte buffer serves every
 * read (each is decoded as soon as it arrives): a fresh buffer per read was a gigabyte of
 * allocations for a 1 GB capture. The first {@link SNIFF_BYTES} are checked for NUL.
 */
function fileText(
  file: Deno.FsFile,
  path: string,
  onBytes: ((count: number) => void) | undefined,
): ReadableStream<string> {
  const buffer = new Uint8Array(READ_SIZE);
  const decoder = new TextDecoder();
  let offset = 0;
  /** Bytes at the start of `buffer` after the last line end decoded: the next line's start. */
  let carried = 0;
  return new ReadableStream<string>({
    async pull(controller) {
      for (;;) {
        const n = await file.read(buffer.subarray(carried));
        if (n === null) {
          const tail = decoder.decode(buffer.subarray(0, carried));
          if (tail !== "") controller.enqueue(tail);
          controller.close();
          return;
        }
        onBytes?.(n);
        if (offset < SNIFF_BYTES) {
          const fresh = buffer.subarray(carried, carried + Math.min(n, SNIFF_BYTES - offset));
          const nul = fresh.indexOf(0);
          if (nul !== -1) {
            throw new InputError(
              path,
              `binary data (NUL byte at offset ${offset + nul}); this is not a JSONL capture`,
            );
          }
        }
        offset += n;
        const filled = carried + n;
        // An LF byte is never part of a multi-byte character, so text up to one decodes whole.
        const end = buffer.subarray(0, filled).lastIndexOf(0x0a) + 1;
        // A line longer than the buffer goes out in pieces (the splitter joins them); the
        // decoder's stream mode keeps a character split between two pieces whole.
        const cut = end > 0 ? end : filled;
        const text = decoder.decode(buffer.subarray(0, cut), { stream: true });
        buffer.copyWithin(0, cut, filled);
        carried = filled - cut;
        if (text !== "") {
          controller.enqueue(text);
          return;
        }
      }
    },
  }, { highWaterMark: 4 });
}

/**
 * Streams the entries of a JSONL capture. Malformed lines (bad JSON, or JSON that is not an
 * entry) go to `onMalformed` and reading goes on; blank lines are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEntries } from "./jsonl.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const entry = {
 *   timestamp: 1700000000,
 *   request: { method: "GET", url: "http://h/v1/models", headers: {}, body: null },
 *   response: { status_code: 200, headers: {}, body: { data: [] } },
 * };
 * await Deno.writeTextFile(path, `${JSON.stringify(entry)}\nnot json\n\n`);
 * const bad: number[] = [];
 * const lines: number[] = [];
 * for await (const { line } of readEntries(path, (n) => bad.push(n))) lines.push(line);
 * assert.deepEqual([lines, bad], [[1], [2]]);
 * await Deno.remove(path);
 * ```
 *
 * @throws {InputError} when the file is missing, a directory, empty, binary, or holds no entry.
 */
export async function* readEntries(
  path: string,
  onMalformed: MalformedLineHandler,
  onBytes?: (count: number) => void,
): AsyncGenerator<NumberedEntry> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new InputError(path, "no such file; check the --input path");
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new InputError(path, "permission denied; check the file's permissions");
    }
    throw new InputError(path, `cannot open: ${(err as Error).message}`);
  }
  let entries = 0;
  let malformed = 0;
  let sawBytes = false;
  try {
    const info = await file.stat();
    if (info.isDirectory) {
      throw new InputError(path, "is a directory; pass the capture file (e.g. traffic.jsonl)");
    }
    const lines = fileText(file, path, (n) => {
      sawBytes = true;
      onBytes?.(n);
    }).pipeThrough(new LineSplitStream());
    for await (const { line, text } of lines) {
      if (text.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        malformed++;
        onMalformed(line, firstLine((err as Error).message));
        continue;
      }
      const problem = entryProblem(value);
      if (problem !== null) {
        malformed++;
        onMalformed(line, problem);
        continue;
      }
      entries++;
      yield { line, entry: normalize(value as Record<string, unknown>) };
    }
  } finally {
    try {
      file.close();
    } catch {
      // Already closed by the finished readable.
    }
  }
  if (!sawBytes) throw new InputError(path, "empty file; nothing was captured");
  if (entries === 0) {
    throw new InputError(
      path,
      malformed > 0
        ? `no valid entries (${malformed} malformed line${
          malformed === 1 ? "" : "s"
        }); is this a probe JSONL capture?`
        : "no entries (only blank lines); nothing was captured",
    );
  }
}

function firstLine(message: string): string {
  const nl = message.indexOf("\n");
  return nl === -1 ? message : message.slice(0, nl);
}
