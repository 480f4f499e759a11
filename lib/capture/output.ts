/**
 * Where a capture goes: a new timestamped folder per run by default, never an older capture
 * appended to by surprise. The JSONL file is created here (0600, empty = valid) so it exists
 * whatever happens next.
 */
import { fileReason, ProbeError } from "../errors.ts";
import { readEntries } from "../jsonl.ts";

export const CAPTURE_FILE = "traffic.jsonl";
export const REPORT_FILE = "analysis_report.md";

export interface CaptureOutput {
  dir: string;
  file: string;
  /** probe made the folder (so it may remove it again if the capture never started). */
  createdDir: boolean;
}

/**
 * Undoes `prepareOutput` after a failed start: removes the capture file if nothing was
 * recorded in it, and the folder if probe made it and it is now empty. Never throws.
 */
export async function discardIfEmpty(out: CaptureOutput): Promise<void> {
  try {
    if ((await Deno.stat(out.file)).size !== 0) return;
    await Deno.remove(out.file);
    if (out.createdDir) await Deno.remove(out.dir); // fails (and stays) when not empty
  } catch {
    // Nothing to undo, or a folder that holds other files: leave it.
  }
}

/** `captures/<target>-YYYYMMDD-HHMMSS` (local time), with `-2`, `-3`... if that exists. */
export function defaultOutputDir(target: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-` +
    `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `captures/${target}-${stamp}`;
}

/** Creates the output folder (0700) and an empty capture file (0600) that did not exist. */
export async function prepareOutput(
  dir: string | undefined,
  target: string,
): Promise<CaptureOutput> {
  if (dir !== undefined) {
    const createdDir = !(await isDir(dir));
    await makeDir(dir);
    const file = `${dir.replace(/\/+$/, "") || "/"}/${CAPTURE_FILE}`;
    if (!(await createNew(file))) {
      throw new ProbeError(
        `${file} already exists: probe does not append to an older capture; pick another ` +
          `--output-dir or move that file away`,
      );
    }
    return { dir, file, createdDir };
  }
  const base = defaultOutputDir(target, new Date());
  for (let n = 1; n < 1000; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    await Deno.mkdir("captures", { recursive: true }).catch(() => {});
    try {
      await Deno.mkdir(candidate, { mode: 0o700 });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) continue;
      throw new ProbeError(
        `cannot create ${candidate} (${fileReason(err)}): pass --output-dir DIR`,
      );
    }
    const file = `${candidate}/${CAPTURE_FILE}`;
    if (await createNew(file)) return { dir: candidate, file, createdDir: true };
  }
  throw new ProbeError(`cannot find a free folder name under captures/: pass --output-dir DIR`);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const file = await fileOnPath(dir);
    if (file !== undefined) {
      throw new ProbeError(
        `--output-dir ${dir}: ${
          file === dir ? "is a file" : `${file} is a file`
        }, not a folder; pass a folder (probe creates it if missing)`,
      );
    }
    throw new ProbeError(
      `cannot create output folder ${dir} (${fileReason(err)}): pick another --output-dir`,
    );
  }
}

/** The first of `dir` and its parents, from the top, that exists and is not a folder. */
async function fileOnPath(dir: string): Promise<string | undefined> {
  const parts = dir.replace(/\/+$/, "").split("/");
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join("/");
    if (path === "") continue;
    try {
      if (!(await Deno.stat(path)).isDirectory) return path;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Creates `file` empty with mode 0600; false when it already exists. */
async function createNew(file: string): Promise<boolean> {
  try {
    const f = await Deno.open(file, { createNew: true, write: true, mode: 0o600 });
    f.close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw new ProbeError(
      `cannot create ${file} (${fileReason(err)}): pick another --output-dir`,
    );
  }
}

export interface CaptureSummary {
  entries: number;
  incomplete: number;
  failed: number;
}

/** Counts the recorded exchanges for the closing message (streamed; bad lines are skipped). */
export async function summarize(file: string): Promise<CaptureSummary> {
  const summary = { entries: 0, incomplete: 0, failed: 0 };
  try {
    if ((await Deno.stat(file)).size === 0) return summary;
    for await (const { entry } of readEntries(file, () => {})) {
      summary.entries++;
      if (entry.incomplete) summary.incomplete++;
      else if (entry.error) summary.failed++;
    }
  } catch {
    // unreadable or no entry at all: the analyzer says why, in detail
  }
  return summary;
}
