/**
 * Files replaced whole: written beside their destination and renamed into place, so a failed
 * run never leaves half a file where a good one was.
 *
 * @module
 */
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
  const partial = `${output}.partial-${Deno.pid}`;
  try {
    const result = await write(partial);
    await Deno.rename(partial, output);
    return result;
  } catch (err) {
    await Deno.remove(partial).catch(() => {});
    if (err instanceof ProbeError) throw err;
    throw new ProbeError(`cannot write ${what} ${output}: ${fileReason(err)}; name another path`);
  }
}
