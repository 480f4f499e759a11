/**
 * Whether a path names anything (a file, a folder, a device): `Deno.stat` succeeds on it. A
 * path that cannot be looked at (no permission) counts as absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { exists } from "./path_exists.ts";
 *
 * assert.equal(await exists("/"), true);
 * assert.equal(await exists("/no/such/path/here"), false);
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
