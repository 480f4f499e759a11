/**
 * Whether a target value names a file, on its own: the capture decides with it whether to load
 * the target-file reader (and its npm JSONC parser) at all.
 */

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
