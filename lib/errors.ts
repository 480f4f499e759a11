/**
 * Typed errors. `lib/` throws them; only `main.ts` prints them (`probe: error: MESSAGE`) and
 * turns them into exit codes. Each message is one line naming what failed and what to do.
 */

/** A failure the user can act on: exit status 1 unless `exitCode` says otherwise. */
export class ProbeError extends Error {
  exitCode: number;
  constructor(message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = "ProbeError";
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Bad command line: exit status 2. */
export class UsageError extends ProbeError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
    this.name = "UsageError";
  }
}

/**
 * An input file that cannot be analyzed (missing, a directory, empty, not JSONL); `line`
 * (1-based) when the mistake is on one, said as `FILE:LINE:` like a compiler.
 */
export class InputError extends ProbeError {
  path: string;
  constructor(path: string, message: string, line?: number) {
    super(`${path}${line === undefined ? "" : `:${line}`}: ${message}`);
    this.name = "InputError";
    this.path = path;
  }
}

/**
 * Why a file could not be read or written, in words a user can act on: Deno's own for a
 * system path (/proc, /sys, /dev) advises a flag of Deno's, which a probe user cannot pass.
 */
export function fileReason(err: unknown): string {
  // Only a system path needs "all access"; a permission not granted (a sandboxed run) keeps
  // Deno's words, which name the permission.
  if (err instanceof Deno.errors.NotCapable && /Requires all access/.test(err.message)) {
    return "probe reads and writes no system path under /proc, /sys or /dev";
  }
  return err instanceof Error ? err.message : String(err);
}

/** The one line for an input that cannot be opened or read (`what`: "open", "read"). */
export function inputFileError(path: string, err: unknown, what = "open"): InputError {
  if (err instanceof Deno.errors.NotFound) {
    return new InputError(path, "no such file; check the --input path");
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new InputError(path, "permission denied; check the file's permissions");
  }
  return new InputError(path, `cannot ${what}: ${fileReason(err)}`);
}
