/**
 * Files replaced whole: written beside their destination and renamed into place, so a failed
 * run never leaves half a file where a good one was.
 *
 * @module
 */
import { dirname } from "node:path";
import { fileReason, ProbeError } from "./errors.ts";

/**
 * Calls `write` with a temporary path beside `output`, then renames it to `output`. On any
 * failure the temporary file is removed and the error is one {@link ProbeError}
 * "cannot write WHAT OUTPUT: reason" (a ProbeError from `write` passes as it is).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { replaceFile } from "./atomic_file.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await replaceFile(`${dir}/out.txt`, "report", (path) => Deno.writeTextFile(path, "whole"));
 * assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "whole");
 * await assert.rejects(
 *   replaceFile(`${dir}/out.txt`, "report", () => Promise.reject(new Error("disk full"))),
 *   /cannot write report .*out\.txt: disk full/,
 * );
 * assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "whole", "the good file stays");
 * assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.txt"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function replaceFile<T>(
  output: string,
  what: string,
  write: (path: string) => Promise<T>,
): Promise<T> {
  const cannot = (reason: string) => new ProbeError(`cannot write ${what} ${output}: ${reason}`);
  const info = await Deno.stat(output).catch(() => undefined);
  if (info?.isDirectory) throw cannot("it is a folder; name a file (in it or elsewhere)");
  // A device or a pipe (/dev/null, a FIFO) is written as it is: nothing to replace, and no
  // file can be made beside it.
  const special = info !== undefined && !info.isFile;
  const partial = special ? output : `${output}.partial-${Deno.pid}`;
  try {
    const result = await write(partial);
    if (!special) await Deno.rename(partial, output);
    return result;
  } catch (err) {
    if (!special) await Deno.remove(partial).catch(() => {});
    if (err instanceof ProbeError) throw err;
    const folder = dirname(output);
    if (err instanceof Deno.errors.NotFound && !(await isFolder(folder))) {
      throw cannot(`there is no folder ${folder}; create it or name another path`);
    }
    throw cannot(`${fileReason(err)}; name another path`);
  }
}

function isFolder(path: string): Promise<boolean> {
  return Deno.stat(path).then((s) => s.isDirectory, () => false);
}
