/**
 * Request parts (the pieces a conversation repeats): conversation items built one row per
 * unit of a message, and the full rendering of a request from its parts.
 *
 * @module
 */

import { fullRequestBlocks } from "../lib/conversation.ts";
import type { JsonObject } from "../lib/json.ts";
import type { RenderedBody, RequestParts } from "../lib/types.ts";
import { nonObjectBody } from "./blocks.ts";

/**
 * A copy of `obj` without `cache_control` (the same object when it has none). Agents move
 * cache breakpoints to the newest messages on every request: identities ignore them.
 */
export function withoutCacheControl(obj: JsonObject): JsonObject {
  if (!("cache_control" in obj)) return obj;
  const { cache_control: _cc, ...rest } = obj;
  return rest;
}

/** How a request's messages become conversation items: see {@link unitItems}. */
export interface UnitSpec {
  title: string;
  header: string[];
  messages: unknown[];
  /** Index of the first message that is an item (earlier ones are shown elsewhere). */
  first?: number;
  /** The identity of each unit (part, block, or the whole message) of a message. */
  keys(message: unknown): unknown[];
  /** The table row of unit `unit` of the message at `index`. */
  row(message: unknown, index: number, unit: number): string[];
  /** The full text of a unit whose row shows only an excerpt. */
  full(message: unknown, unit: number): string | undefined;
}

/**
 * Conversation items with one row per unit of a message (a part or content block, or the
 * message itself): the keys are computed now, rows and full texts only when asked for.
 */
export function unitItems(spec: UnitSpec): NonNullable<RequestParts["items"]> {
  const { messages } = spec;
  const keys: unknown[] = [];
  const at: number[] = [];
  const unit: number[] = [];
  for (let i = spec.first ?? 0; i < messages.length; i++) {
    const own = spec.keys(messages[i]);
    for (let j = 0; j < own.length; j++) {
      keys.push(own[j]);
      at.push(i);
      unit.push(j);
    }
  }
  return {
    title: spec.title,
    header: spec.header,
    keys,
    row: (k) => spec.row(messages[at[k]], at[k], unit[k]),
    full: (k) => spec.full(messages[at[k]], unit[k]),
  };
}

/** `renderRequest` from `requestParts`: the complete view, or the body raw when not a request. */
export function renderFromParts(parts: RequestParts | undefined, body: unknown): RenderedBody {
  if (!parts) return { blocks: nonObjectBody(body) };
  return { blocks: fullRequestBlocks(parts), ...(parts.model ? { model: parts.model } : {}) };
}
