/**
 * Builders of the document model's blocks, and the few block groups every renderer shows
 * the same way (a non-object body, a raw section, a capped text, a tool call).
 *
 * @module
 */

import type { Block } from "../lib/types.ts";
import { maskSplitJson, maskStreamText } from "../lib/redact_split.ts";
import { capText, charCount } from "./text.ts";
import { jsonOrText, prettyJson } from "./values.ts";

/** A heading block (level 1 relative to where the renderer's blocks are placed). */
export function heading(text: string): Block {
  return { kind: "heading", text };
}

/** A paragraph block. */
export function paragraph(text: string): Block {
  return { kind: "paragraph", text };
}

/** A verbatim code block with a language hint ("json", "text", ...). */
export function code(text: string, lang: string): Block {
  return { kind: "code", text, lang };
}

/** A label/value block. */
export function fields(rows: [string, string][]): Block {
  return { kind: "fields", rows };
}

/**
 * Blocks for a body that is not a JSON object: "(empty body)" for null/empty, a string as a
 * (capped) text block, any other JSON value as pretty JSON with a note saying what it is.
 */
export function nonObjectBody(body: unknown): Block[] {
  if (body === null || body === undefined || body === "") return [paragraph("(empty body)")];
  if (typeof body === "string") {
    // Shown as it is, so masked as a body is (a form's secret pairs, JSON fields, key shapes,
    // a key that a stream's pieces split): a --keep-secrets capture holds them raw.
    const cut = capText(maskStreamText(body));
    return cut.note ? [paragraph(cut.note), code(cut.text, "text")] : [code(cut.text, "text")];
  }
  const what = Array.isArray(body) ? "an array" : `a ${typeof body}`;
  // An array of stream chunks, shown as they are: a key they split is never read joined.
  const shown = prettyJson(maskSplitJson(body));
  return [paragraph(`The body is ${what}, not a JSON object.`), code(shown, "json")];
}

/**
 * A section whose value has the wrong type, shown raw: `title` heading, `note` (e.g. "tools is
 * not an array:") and the value as pretty JSON.
 */
export function rawSection(title: string, note: string, value: unknown): Block[] {
  return [heading(title), paragraph(note), code(prettyJson(value), "json")];
}

/** A long text in a code block, capped at `max` units, after a note when it was cut. */
export function cappedTextBlocks(text: string, max: number): Block[] {
  const cut = capText(text, max);
  return cut.note ? [paragraph(cut.note), code(cut.text, "text")] : [code(cut.text, "text")];
}

/** A titled text (a system prompt): heading, its length in characters, and the capped text. */
export function textSection(title: string, text: string, max: number): Block[] {
  return [
    heading(title),
    fields([["Length", `${charCount(text)} characters`]]),
    ...cappedTextBlocks(text, max),
  ];
}

/**
 * A tool call: its label/value `rows`, then its payload (arguments, input, action) as pretty
 * JSON, or as text when it is a string that is not JSON; nothing for an absent payload.
 */
export function callBlocks(rows: [string, string][], payload: unknown): Block[] {
  if (typeof payload === "string") {
    const shown = jsonOrText(payload);
    return [fields(rows), code(shown.text, shown.lang)];
  }
  return payload === undefined ? [fields(rows)] : [fields(rows), code(prettyJson(payload), "json")];
}
