/**
 * How a target value is resolved: a built-in target's name, or a target file. Kept apart from
 * target_file.ts so that resolving a built-in name never loads the target-file reader (and
 * its npm JSONC parser).
 */
import { UsageError } from "./errors.ts";
import type { Target } from "./types.ts";

/**
 * Whether a `--target` value names a file rather than a built-in target: it contains a path
 * separator or ends in `.json` / `.jsonc`.
 *
 * @example
 * ```ts
 * isTargetFile("./my-agent.jsonc"); // true
 * isTargetFile("my-agent"); // false
 * ```
 */
export function isTargetFile(value: string): boolean {
  return /[\\/]/.test(value) || /\.jsonc?$/i.test(value);
}

/**
 * The target `name` stands for: one of `targets` by name, else, when it names a file, what
 * `loadFile` makes of it (a Target, or a promise of one for an async loader). An unknown name
 * is one UsageError listing the known targets.
 *
 * @example
 * ```ts
 * import { resolveTarget } from "./target_path.ts";
 * import type { Target } from "./types.ts";
 * const echo = { name: "echo", renderer: "echo" } as Target;
 * const load = (path: string): Target => ({ ...echo, name: path });
 * if (resolveTarget("echo", [echo], load) !== echo) throw new Error();
 * if (resolveTarget("./mine.jsonc", [echo], load).name !== "./mine.jsonc") throw new Error();
 * ```
 */
export function resolveTarget<T>(
  name: string,
  targets: readonly Target[],
  loadFile: (path: string) => T,
): Target | T {
  const builtin = targets.find((t) => t.name === name);
  if (builtin) return builtin;
  if (isTargetFile(name)) return loadFile(name);
  throw new UsageError(
    `unknown target "${name}"; known targets: ${
      targets.map((t) => t.name).join(", ")
    } (or a target file: ./NAME.jsonc)`,
  );
}
