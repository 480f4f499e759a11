/**
 * Characters a capture may hold that must never reach a reader raw: control characters and
 * escape sequences (a terminal would act on them: move the cursor, retitle the window, hide
 * text) and, in names, the invisible characters that make two names look alike or reorder what
 * is shown (bidi overrides, zero-width characters: "Trojan Source"). Each is replaced by a
 * visible stand-in, so the reader sees that it was there.
 *
 * - C0 controls (but tab and line feed) become their Unicode control pictures (ESC → ␛),
 *   DEL becomes ␡;
 * - C1 controls, bidi embeddings, overrides and isolates, zero-width spaces and (in names)
 *   every other invisible format character become `⟨U+XXXX⟩`.
 */

/**
 * Unsafe in any text: controls, bidi embeddings, overrides and isolates, and the invisible
 * characters no text needs (zero-width space, word joiner, invisible operators, BOM after the
 * start, Mongolian vowel separator). Joiners and marks that scripts and emoji need (ZWJ,
 * ZWNJ, LRM, RLM) stay.
 */
export const unsafeInText =
  // deno-lint-ignore no-control-regex -- matching controls is the point
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u180e\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;
const UNSAFE_IN_TEXT_G = new RegExp(unsafeInText.source, "g");

/**
 * Unsafe in a name (tool, model, header, key, path...): those, line breaks, and zero-width and
 * other invisible format characters (soft hyphen, Arabic letter mark, Mongolian vowel
 * separator, LRM/RLM, word joiner, invisible operators, BOM). Tab is left alone.
 */
export const hiddenInName =
  // deno-lint-ignore no-control-regex -- matching controls is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** Whether a UTF-16 code unit of 0x7F or above is one {@link hiddenInName} matches. */
export function isHiddenInName(c: number): boolean {
  return c <= 0x9f || c === 0xad || c === 0x061c || c === 0x180e ||
    (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c === 0xfeff;
}

/** The visible stand-in of a hidden character's code. */
export function standIn(code: number): string {
  if (code < 0x20) return String.fromCharCode(0x2400 + code);
  if (code === 0x7f) return "\u2421";
  return `⟨U+${code.toString(16).toUpperCase().padStart(4, "0")}⟩`;
}

const standInOf = (c: string) => standIn(c.charCodeAt(0));

/**
 * Text (a body, a prompt, tool output) with what {@link unsafeInText} matches made visible;
 * tabs, line breaks and everything else (zero-width joiners in emoji, say) as they are.
 *
 * @example
 * ```ts
 * import { visibleText } from "./visible.ts";
 * visibleText("a\x1b[2Jb\u202ec\n"); // "a␛[2Jb⟨U+202E⟩c\n"
 * ```
 */
export function visibleText(text: string): string {
  return unsafeInText.test(text) ? text.replace(UNSAFE_IN_TEXT_G, standInOf) : text;
}

const HIDDEN_IN_NAME_G = new RegExp(hiddenInName.source, "g");

/**
 * A name (tool, model, role, call id) with what {@link hiddenInName} matches made visible,
 * line breaks included, so two names that look alike are told apart.
 *
 * @example
 * ```ts
 * import { visibleName } from "./visible.ts";
 * visibleName("read\u200b_file"); // "read⟨U+200B⟩_file"
 * ```
 */
export function visibleName(name: string): string {
  return hiddenInName.test(name) ? name.replace(HIDDEN_IN_NAME_G, standInOf) : name;
}
