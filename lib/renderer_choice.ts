/**
 * Which renderer handles an entry. Its own module so that writers other than the report (the
 * live OTLP export of a capture) pick renderers without loading the report code.
 */
import { detectRenderer } from "./detect.ts";
import { ProbeError } from "./errors.ts";
import type { Entry, Renderer, Target } from "./types.ts";

/**
 * Picks the renderer of each entry: an explicit choice wins; otherwise the renderer that
 * recognises the entry as its API (see detect.ts); otherwise the target's renderer.
 */
export function rendererChooser(
  renderers: ReadonlyMap<string, Renderer>,
  target: Target | undefined,
  explicit?: string,
): (entry: Entry) => Renderer {
  const lookup = (id: string, what: string): Renderer => {
    const r = renderers.get(id);
    if (!r) {
      throw new ProbeError(
        `${what} names renderer "${id}", which does not exist; known renderers: ${
          [...renderers.keys()].join(", ")
        }`,
      );
    }
    return r;
  };
  if (explicit) {
    const fixed = lookup(explicit, "--renderer");
    return () => fixed;
  }
  const fallback = target ? lookup(target.renderer, `target ${target.name}`) : undefined;
  const all = [...renderers.values()];
  return (entry) => {
    const r = detectRenderer(all, entry) ?? fallback;
    if (r) return r;
    throw new ProbeError(
      `no renderer recognises ${entry.request.method} ${entry.request.url} and no --target ` +
        `names one to fall back on; known renderers: ${[...renderers.keys()].join(", ")}`,
    );
  };
}
