/**
 * System prompts and tool lists the report has shown in full, so a conversation that starts
 * with one already shown refers to it instead of repeating it. Agents start many conversations
 * with the same large prompt and tools (subagents, side requests, a day of sessions): shown
 * whole each time they were most of a report (28 MB of Markdown per 100 MB of a capture of
 * short conversations).
 */
import { hashNumber } from "./text_hash.ts";
import type { Block } from "./types.ts";

/** The second hash's seed (any value other than 0, the first's). */
const SECOND_SEED = 0x9e3779b9;

/** Distinct texts remembered per kind, the most recently referred to kept. */
const REMEMBERED = 64;

/**
 * A system prompt or tool definitions shorter than this (characters of the text, or of the
 * definitions' JSON) are shown again: a reference would save the reader nothing.
 */
export const MIN_REFERRED = 400;

/**
 * Where a text was shown in full: exchange indexes by its key, least recently used first.
 * A reference hides the text it stands for, so two texts must never pass for one. One 53-bit
 * hash, like the history's, can be matched on purpose by a birthday search (about 2^27 tries;
 * hostile testing matched 48 bits in 21 s); the key is two of them, of independent seeds (128
 * bits of state between them: about 2^64 tries). A SHA-256 from `node:crypto` would do as
 * well, but loading it put 1 MB on analyze's heap.
 */
export class ShownBefore {
  #at = new Map<string, number>();

  /**
   * The exchange that showed `text` in full before, if any; otherwise `index` is noted as
   * showing it now.
   */
  earlier(text: string, index: number): number | undefined {
    const hash = `${hashNumber(text)}:${hashNumber(text, SECOND_SEED)}`;
    const at = this.#at.get(hash);
    if (at !== undefined) {
      this.#at.delete(hash);
      this.#at.set(hash, at);
      return at;
    }
    this.#at.set(hash, index);
    if (this.#at.size > REMEMBERED) this.#at.delete(this.#at.keys().next().value!);
    return undefined;
  }
}

/**
 * What a system prompt or a tool list is compared by: its title and its blocks as the report
 * would show them, so all that shows counts (cache breakpoints, roles, every tool of a repeated
 * name), not only the text.
 */
export const shownText = (title: string, blocks: readonly Block[]) =>
  `${title}\n${JSON.stringify(blocks)}`;
