/**
 * The exchange log of a report while it is written: every exchange is rendered as soon as it
 * is read, but the report starts with the summary, which needs all of them. The log is kept in
 * memory, as UTF-8, up to a limit (the log of a 100 MB capture is about 5 MB), and moved to a
 * temporary file beyond it, so memory stays flat for any capture.
 */
import { ProbeError } from "./errors.ts";

/** A byte sink (a file, standard output). */
export interface ByteWriter {
  write(p: Uint8Array): Promise<number>;
}

/** Writes all of `bytes` (a write may take fewer). */
export async function writeAll(w: ByteWriter, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await w.write(bytes.subarray(written));
}

/** Bytes kept in memory before the log moves to a temporary file. */
export const LOG_MEMORY_LIMIT = 4 << 20;

/** Size of the encoding buffer, and of the pieces the log is kept or written in. */
const PIECE = 1 << 20;

/** Characters of text gathered before they are encoded. */
const BATCH = 64 << 10;

export class ReportLog implements AsyncDisposable {
  #limit: number;
  #encoder = new TextEncoder();
  /** Made on the first write: a log that is never written (an empty list) holds nothing. */
  #buffer: Uint8Array | undefined;
  #used = 0;
  /** Texts written and not yet encoded. */
  #pending: string[] = [];
  #pendingLength = 0;
  /** Full pieces kept in memory, while there is no file. */
  #pieces: Uint8Array[] = [];
  #kept = 0;
  #file: Deno.FsFile | undefined;
  #path: string | undefined;
  #tempDir: string | undefined;

  /** `tempDir`: where the temporary file goes (default: the system's, TMPDIR). */
  constructor(
    { memoryLimit = LOG_MEMORY_LIMIT, tempDir }: { memoryLimit?: number; tempDir?: string } = {},
  ) {
    this.#limit = memoryLimit;
    this.#tempDir = tempDir;
  }

  /**
   * Appends text. Texts are gathered up to {@link BATCH} characters and encoded together:
   * soon, so the strings die young (a megabyte of report text held until the next write
   * outlived collections and was copied and promoted by each one), and in few calls (one
   * encode per exchange cost three times as much, most of it in the call).
   */
  async write(text: string): Promise<void> {
    this.#pending.push(text);
    this.#pendingLength += text.length;
    if (this.#pendingLength >= BATCH) await this.#encodePending();
  }

  async #encodePending(): Promise<void> {
    if (this.#pendingLength === 0) return;
    const text = this.#pending.length === 1 ? this.#pending[0] : this.#pending.join("");
    this.#pending = [];
    this.#pendingLength = 0;
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    if (this.#used + text.length * 3 > PIECE) {
      await this.#store();
      if (text.length * 3 > PIECE) {
        await this.#keep(this.#encoder.encode(text));
        return;
      }
    }
    this.#buffer ??= new Uint8Array(PIECE);
    this.#used += this.#encoder.encodeInto(text, this.#buffer.subarray(this.#used)).written;
  }

  /** The temporary file, once the log has moved to one. */
  get path(): string | undefined {
    return this.#path;
  }

  /** Writes the whole log to `out`. */
  async copyTo(out: ByteWriter): Promise<void> {
    await this.#encodePending();
    await this.#store();
    if (!this.#file) {
      for (const piece of this.#pieces) await writeAll(out, piece);
      return;
    }
    await this.#file.seek(0, Deno.SeekMode.Start);
    const buffer = new Uint8Array(4 << 20);
    for (;;) {
      let n: number | null;
      try {
        n = await this.#file.read(buffer);
      } catch (err) {
        throw tempLogError(err);
      }
      if (n === null) return;
      await writeAll(out, buffer.subarray(0, n));
    }
  }

  /** Closes and removes the temporary file, if there is one. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    if (this.#path) await Deno.remove(this.#path).catch(() => {});
    this.#path = undefined;
  }

  /** Moves the encoding buffer's bytes to the log. */
  async #store(): Promise<void> {
    const used = this.#used;
    if (used === 0 || !this.#buffer) return;
    this.#used = 0;
    // A mostly full buffer is kept as it is (and replaced); a short piece is copied, so memory
    // held is never much more than the bytes kept.
    const whole = used >= PIECE / 2;
    if (this.#fits(whole ? PIECE : used)) {
      this.#pieces.push(whole ? this.#buffer.subarray(0, used) : this.#buffer.slice(0, used));
      this.#kept += whole ? PIECE : used;
      if (whole) this.#buffer = undefined;
      return;
    }
    await this.#toFile(this.#buffer.subarray(0, used));
  }

  #fits(bytes: number): boolean {
    return !this.#file && this.#kept + bytes <= this.#limit;
  }

  /** Keeps `bytes` (the log's own from now on) in memory, or in the file. */
  async #keep(bytes: Uint8Array): Promise<void> {
    if (this.#fits(bytes.length)) {
      this.#pieces.push(bytes);
      this.#kept += bytes.length;
      return;
    }
    await this.#toFile(bytes);
  }

  /** Writes `bytes` to the file, which is made (and given what memory held) on first use. */
  async #toFile(bytes: Uint8Array): Promise<void> {
    try {
      if (!this.#file) {
        this.#path = await Deno.makeTempFile({ prefix: "probe-log-", dir: this.#tempDir });
        this.#file = await Deno.open(this.#path, { read: true, write: true, truncate: true });
        for (const piece of this.#pieces) await writeAll(this.#file, piece);
        this.#pieces = [];
        this.#kept = 0;
      }
      await writeAll(this.#file, bytes);
    } catch (err) {
      throw tempLogError(err);
    }
  }
}

/** A failure of the temporary log's file (a full disk, an unwritable TMPDIR), said so. */
function tempLogError(err: unknown): ProbeError {
  return new ProbeError(
    `cannot write the report's temporary log: ${
      (err as Error).message
    }; set TMPDIR to a folder with room and write access`,
    { cause: err },
  );
}
