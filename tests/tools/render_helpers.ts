/**
 * Helpers shared by the renderer tests: the entry and views a renderer is handed, SSE text built
 * from event objects, and readers that pick headings, sections, fields, code and tables out of the
 * rendered blocks.
 */
import { ok as assert } from "node:assert/strict";
import {
  advanceConversation,
  type Conversation,
  deltaBlocks,
  requestDelta,
} from "../../lib/conversation.ts";
import type { Block, Entry, RequestParts, ResponseView } from "../../lib/types.ts";
import { parseSse } from "../../lib/sse.ts";

// ---------------------------------------------------------------------------------------------
// Input

/** An entry of a request to `url` with no headers and no response yet. */
export function entryFor(url: string, method = "POST", body: unknown = null): Entry {
  return { timestamp: 0, request: { method, url, headers: {}, body }, response: null };
}

/** SSE text from event objects (the `event:` line is the object's type). */
export function eventStream(...objects: Record<string, unknown>[]): string {
  return objects.map((o) => `event: ${o.type}\ndata: ${JSON.stringify(o)}\n\n`).join("");
}

/** A 200 `text/event-stream` view of `text`, its events parsed by lib/sse.ts. */
export function sseView(text: string): ResponseView {
  return {
    kind: "sse",
    status: 200,
    contentType: "text/event-stream",
    body: text,
    events: parseSse(text),
  };
}

/** An `application/json` view of `body`. */
export function jsonView(body: unknown, status = 200): ResponseView {
  return { kind: "plain", status, contentType: "application/json", body };
}

// ---------------------------------------------------------------------------------------------
// Reading rendered blocks

/** The value, asserted to be defined. */
export function must<T>(value: T | undefined): T {
  assert(value !== undefined, "undefined");
  return value;
}

export function headings(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.kind === "heading" ? [b.text] : []));
}

/** The blocks after the heading `text`, up to the next heading. */
export function section(blocks: Block[], text: string): Block[] {
  const start = blocks.findIndex((b) => b.kind === "heading" && b.text === text);
  assert(start >= 0, `no heading "${text}" in ${JSON.stringify(headings(blocks))}`);
  const rest = blocks.slice(start + 1);
  const end = rest.findIndex((b) => b.kind === "heading");
  return end < 0 ? rest : rest.slice(0, end);
}

/** All label/value rows of all fields blocks, as an object (later rows win). */
export function fieldMap(blocks: Block[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const b of blocks) if (b.kind === "fields") { for (const [k, v] of b.rows) out[k] = v; }
  return out;
}

/** The code blocks' text and language. */
export function codes(blocks: Block[]): { text: string; lang?: string }[] {
  return blocks.flatMap((b) => (b.kind === "code" ? [{ text: b.text, lang: b.lang }] : []));
}

/** The code blocks' text alone. */
export function codeTexts(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.kind === "code" ? [b.text] : []));
}

export function paragraphs(blocks: Block[]): string[] {
  return blocks.flatMap((b) => (b.kind === "paragraph" ? [b.text] : []));
}

/** The first table, asserted to be there. */
export function table(blocks: Block[]): { header: string[]; rows: string[][] } {
  const t = blocks.find((b) => b.kind === "table");
  assert(t && t.kind === "table", "no table");
  return { header: t.header, rows: t.rows };
}

/** The first table's rows, asserted to be there. */
export function tableRows(blocks: Block[]): string[][] {
  return table(blocks).rows;
}

/** The delta view of a request, and its conversation moved on to it (what the report does). */
export function deltaStep(parts: RequestParts, conv: Conversation, index: number): Block[] {
  const delta = requestDelta(parts, conv);
  const blocks = deltaBlocks(parts, delta);
  advanceConversation(conv, parts, delta, index);
  return blocks;
}
