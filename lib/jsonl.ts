/**
 * Reads a capture as a stream: bytes → lines → entries, one line in memory at a time (plus
 * the chunks read ahead, a few megabytes), so memory does not grow with the file.
 */
import { fileReason, InputError, inputFileError } from "./errors.ts";
import { plural } from "./plural.ts";
import type { Entry, NumberedEntry } from "./types.ts";

const MIB = 1024 * 1024;

/** A line of text with its 1-based line number. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * Splits decoded text chunks into lines. Ends at LF (a preceding CR is dropped); the last
 * line is emitted even without a newline. Parts of a long line are joined once, when it ends.
 * A line longer than `maxLine` characters fails the stream with an InputError naming `path`
 * and the line, as soon as that many characters have arrived: memory never grows with a line
 * (a stream without a newline) beyond the limit.
 */
export class LineSplitStream extends TransformStream<string, NumberedLine> {
  constructor(maxLine = DEFAULT_MAX_LINE, path = "input") {
    let pending: string[] = [];
    let pendingLength = 0;
    let lineNo = 0;
    const emit = (text: string, controller: TransformStreamDefaultController<NumberedLine>) => {
      lineNo++;
      controller.enqueue({
        line: lineNo,
        text: text.endsWith("\r") ? text.slice(0, -1) : text,
      });
    };
    const keep = (part: string) => {
      pendingLength += part.length;
      if (pendingLength > maxLine) {
        pending = [];
        throw new InputError(path, lineTooLong(lineNo + 1, maxLine));
      }
      pending.push(part);
    };
    super({
      transform(chunk, controller) {
        let start = 0;
        let nl = chunk.indexOf("\n");
        while (nl !== -1) {
          let text = chunk.slice(start, nl);
          if (pending.length > 0) {
            keep(text);
            text = pending.join("");
            pending = [];
            pendingLength = 0;
          } else if (text.length > maxLine) {
            throw new InputError(path, lineTooLong(lineNo + 1, maxLine));
          }
          emit(text, controller);
          start = nl + 1;
          nl = chunk.indexOf("\n", start);
        }
        if (start < chunk.length) keep(chunk.slice(start));
      },
      flush(controller) {
        if (pending.length > 0) emit(pending.join(""), controller);
      },
    });
  }
}

/**
 * The default longest line, in characters: far above any real exchange (a model request with
 * a long context is a few megabytes), below V8's longest string (about 512 Mi characters).
 */
export const DEFAULT_MAX_LINE = 256 * MIB;

function lineTooLong(line: number, maxLine: number): string {
  return `line ${line} is longer than ${formatMib(maxLine)} MiB (the limit for one exchange); ` +
    `is this a probe JSONL capture? If so, raise the limit with --max-line-mib`;
}

function formatMib(chars: number): string {
  const mib = chars / MIB;
  return Number.isInteger(mib) ? String(mib) : mib.toFixed(2);
}

/** Why a parsed JSON value is not an entry, or null when it is one. */
export function entryProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "not a JSON object";
  }
  const v = value as Record<string, unknown>;
  if (typeof v.timestamp !== "number" || !Number.isFinite(v.timestamp)) {
    if (numericString(v.timestamp) === undefined) return "missing or non-numeric timestamp";
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

/**
 * The number a string holds (`"1770280656.1"`, as some recorders and hand-edited captures
 * write timestamps), or undefined.
 */
function numericString(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value)) {
    return undefined;
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** Fills the optional parts older recorders leave out, so consumers need fewer checks. */
export function normalize(value: Record<string, unknown>): Entry {
  const entry = value as unknown as Entry;
  if (typeof value.timestamp === "string") entry.timestamp = numericString(value.timestamp)!;
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

/** Text saved as UTF-16 (a Windows editor's "Unicode") starts with FF FE or FE FF. */
function isUtf16Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 2 &&
    ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
}

/** Where bytes come from: an open file, standard input, or a decompressing stream. */
interface ByteSource {
  read(buffer: Uint8Array): Promise<number | null>;
}

/**
 * The source's text, decoded as UTF-8 (invalid bytes become U+FFFD), in chunks of about
 * {@link READ_SIZE} bytes that end at a line end whenever a line fits in a read, so the line
 * splitter hands out slices of a chunk rather than copies joined from two. Up to four chunks
 * are read ahead of the reader, so it rarely waits for the disk. One byte buffer serves every
 * read (each is decoded as soon as it arrives): a fresh buffer per read was a gigabyte of
 * allocations for a 1 GB capture. The first {@link SNIFF_BYTES} are checked for NUL.
 */
function sourceText(
  source: ByteSource,
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
        const n = await source.read(buffer.subarray(carried));
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
              offset === 0 && isUtf16Bom(fresh)
                ? "UTF-16 text; probe reads captures as UTF-8 (convert it, e.g. iconv -f UTF-16 -t UTF-8)"
                : `binary data (NUL byte at offset ${offset + nul}); this is not a JSONL capture`,
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

/** How `--input -` is named in messages. */
export const STDIN_NAME = "stdin";

/** The name of an input in messages: its path, or {@link STDIN_NAME} for "-". */
export function inputName(path: string): string {
  return path === "-" ? STDIN_NAME : path;
}

/** An open input: its bytes (decompressed when it is gzip) and how to let it go. */
interface OpenInput {
  source: ByteSource;
  /** Whether the source counts raw bytes itself (gzip: compressed bytes, as the file's size). */
  countsBytes: boolean;
  close(): void;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens a capture: a file, or standard input for "-". Gzip data (by its magic bytes, whatever
 * the name) is read through a DecompressionStream; a plain file is read directly, with no layer
 * between the reads and the file.
 */
async function openInput(
  path: string,
  onBytes: ((count: number) => void) | undefined,
): Promise<OpenInput> {
  const name = inputName(path);
  let file: Deno.FsFile | typeof Deno.stdin;
  if (path === "-") {
    file = Deno.stdin;
  } else {
    try {
      file = await Deno.open(path, { read: true });
    } catch (err) {
      throw inputFileError(path, err);
    }
  }
  const close = () => {
    if (file === Deno.stdin) return;
    try {
      file.close();
    } catch {
      // Already closed.
    }
  };
  try {
    const info = file === Deno.stdin
      ? { isDirectory: false, isFile: false }
      : await (file as Deno.FsFile).stat();
    if (info.isDirectory) {
      throw new InputError(
        path,
        "is a directory; pass the capture file (e.g. traffic.jsonl)",
      );
    }
    const head = new Uint8Array(GZIP_MAGIC.length);
    let got = 0;
    while (got < head.length) {
      const n = await file.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    const gzip = got === head.length && head.every((b, i) => b === GZIP_MAGIC[i]);
    if (!gzip && info.isFile && path !== "-") {
      // A plain file: back to its start, read with nothing in between.
      await (file as Deno.FsFile).seek(0, Deno.SeekMode.Start);
      return { source: file, countsBytes: false, close };
    }
    const raw = withPrefix(head.subarray(0, got), file, onBytes);
    if (!gzip) return { source: streamSource(raw, name, ""), countsBytes: true, close };
    const text = raw.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    return { source: streamSource(text, name, "gzip: "), countsBytes: true, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** The bytes already read, then the rest of `source`, as a stream (counted by `onBytes`). */
function withPrefix(
  prefix: Uint8Array,
  source: ByteSource,
  onBytes: ((count: number) => void) | undefined,
): ReadableStream<Uint8Array> {
  let first = prefix.length > 0 ? prefix.slice() : undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        onBytes?.(first.length);
        controller.enqueue(first);
        first = undefined;
        return;
      }
      const buffer = new Uint8Array(1 << 16);
      const n = await source.read(buffer);
      if (n === null) {
        controller.close();
        return;
      }
      onBytes?.(n);
      controller.enqueue(buffer.subarray(0, n));
    },
  });
}

/** A stream's bytes as a ByteSource; a stream error becomes an InputError naming the input. */
function streamSource(
  stream: ReadableStream<Uint8Array>,
  name: string,
  what: string,
): ByteSource {
  const reader = stream.getReader();
  let chunk: Uint8Array | undefined;
  let at = 0;
  return {
    async read(buffer) {
      while (chunk === undefined || at >= chunk.length) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (err) {
          if (err instanceof InputError) throw err;
          throw new InputError(
            name,
            `${what}cannot read: ${fileReason(err)}` +
              (what ? " (a truncated or corrupt .gz file?)" : ""),
          );
        }
        if (next.done) return null;
        chunk = next.value;
        at = 0;
      }
      const n = Math.min(buffer.length, chunk.length - at);
      buffer.set(chunk.subarray(at, at + n));
      at += n;
      return n;
    },
  };
}

/** Limits on what a reader accepts. */
export interface ReadLimits {
  /** The longest line accepted, in characters; {@link DEFAULT_MAX_LINE} by default. */
  maxLine?: number;
}

/**
 * Streams the entries of a JSONL capture: a file (plain or gzip), or standard input for "-".
 * Malformed lines (bad JSON, or JSON that is not an entry) go to `onMalformed` and reading goes
 * on; blank lines are ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readEntries } from "./jsonl.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const entry = {
 *   timestamp: 1700000000,
 *   request: { method: "GET", url: "http://h/items", headers: {}, body: null },
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
 * @throws {InputError} when the file is missing, a directory, empty, binary, not valid gzip,
 * holds a line longer than `limits.maxLine`, or holds no entry.
 */
export async function* readEntries(
  path: string,
  onMalformed: MalformedLineHandler,
  onBytes?: (count: number) => void,
  limits: ReadLimits = {},
): AsyncGenerator<NumberedEntry> {
  const name = inputName(path);
  let sawBytes = false;
  const counted = (n: number) => {
    if (n > 0) sawBytes = true;
    onBytes?.(n);
  };
  const input = await openInput(path, counted);
  let entries = 0;
  let malformed = 0;
  try {
    const lines = sourceText(input.source, name, input.countsBytes ? undefined : counted)
      .pipeThrough(new LineSplitStream(limits.maxLine ?? DEFAULT_MAX_LINE, name));
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
    input.close();
  }
  if (!sawBytes) throw new InputError(name, "empty file; nothing was captured");
  if (entries === 0) {
    throw new InputError(
      name,
      malformed > 0
        ? `no valid entries (${
          plural(malformed, "malformed line")
        }); is this a probe JSONL capture?`
        : "no entries (only blank lines); nothing was captured",
    );
  }
}

function firstLine(message: string): string {
  const nl = message.indexOf("\n");
  return nl === -1 ? message : message.slice(0, nl);
}
