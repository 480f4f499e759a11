/**
 * SSE events as renderers read them: each event's data parsed once, truncation checks, the
 * events appendix and cut-off notes.
 *
 * @module
 */

import { isRecord, type JsonObject, str } from "../lib/json.ts";
import { eventJson } from "../lib/sse.ts";
import type { Block, RenderedBody, ResponseView, SseEvent } from "../lib/types.ts";
import { code, fields, heading, paragraph } from "./blocks.ts";
import { capText, countInOrder, truncate } from "./text.ts";
import { prettyJson } from "./values.ts";

/**
 * The JSON value of an event's data, parsed at most once per event and shared with the
 * statistics ({@link eventJson}); undefined when the data is not JSON or not a string.
 */
export function sseJson(ev: SseEvent): unknown {
  return typeof ev?.data === "string" ? eventJson(ev) : undefined;
}

/** An event's data as text (odd recorded values made text). */
export function sseRaw(ev: SseEvent): string {
  return typeof ev?.data === "string" ? ev.data : String(ev?.data);
}

/** One SSE event with its data parsed once. */
export interface ParsedSse {
  /** The data's `type` when it has one, else the SSE event type. */
  type: string;
  /** The data as a JSON object, or undefined when it is not one. */
  data?: JsonObject;
  raw: string;
  complete: boolean;
}

/** An event with its data read as a JSON object (see {@link ParsedSse}). */
export function parseSseEvent(ev: SseEvent): ParsedSse {
  const value = sseJson(ev);
  const data = isRecord(value) ? value : undefined;
  const type = str(data?.type) ?? (str(ev.type) || "message");
  const raw = sseRaw(ev);
  return { type, data, raw, complete: endedWhole(ev, data, raw) };
}

/**
 * Whether an event arrived whole. A last event without the blank line that dispatches it is
 * still whole when its data is a complete JSON object or the `[DONE]` sentinel: servers and
 * proxies often end a stream right after the last event's line. Only a real cut (data that
 * stops mid-value) is cut off.
 */
export function endedWhole(ev: SseEvent, data: unknown, raw: string): boolean {
  return ev.complete !== false || isRecord(data) || raw.trim() === "[DONE]";
}

/** "TYPE" or "TYPE, cut off mid-event" for the last event, "none" when there is none. */
export function lastEventText(last: { complete: boolean } | undefined, kind: string): string {
  if (!last) return "none";
  return `${kind}${last.complete ? "" : ", cut off mid-event"}`;
}

/**
 * The truncation problem of a stream that ends with an event of `terminal` types (named
 * `endName` in the problem): no such event, or a last event cut off mid-event.
 */
export function streamTruncation(
  events: ParsedSse[],
  terminal: ReadonlySet<string>,
  endName: string,
): string | undefined {
  const last = events[events.length - 1];
  if (!events.some((e) => e.data && terminal.has(e.type))) {
    return `stream truncated: no ${endName} (last event: ${lastEventText(last, last?.type)})`;
  }
  if (last && !last.complete) return `stream truncated: last event cut off (${last.type})`;
  return undefined;
}

/** Blocks, and the problems found while making them (for the caller to list). */
export interface Found {
  blocks: Block[];
  problems: string[];
}

/** The title of a stream's events table: SSE events, or the server frames of a WebSocket. */
export type EventsTitle = "SSE events" | "Server events";

/** The events title for a stream carried by `view`. */
export function eventsTitle(view: ResponseView | undefined): EventsTitle {
  return view?.kind === "websocket" ? "Server events" : "SSE events";
}

/**
 * "SSE events (N)" (or `title`) heading and a count table of `kinds` (column `header`),
 * first-seen order.
 */
export function sseEventsBlocks(
  kinds: string[],
  header = "Event type",
  title: EventsTitle = "SSE events",
): Block[] {
  return [
    heading(`${title} (${kinds.length})`),
    {
      kind: "table",
      header: [header, "Count"],
      rows: countInOrder(kinds).map(([t, n]) => [t, String(n)]),
    },
  ];
}

/**
 * The events appendix of a stream: the "SSE events" table of `kinds` (default: each event's
 * type), then raw samples: the first JSON event of each label `unknownLabel` returns
 * (undefined = a known event), the complete events whose data is not a JSON object (except
 * `sentinel` ones, e.g. "[DONE]"; with a problem for them), and the last event when it
 * was cut off.
 */
export function streamEventBlocks(
  events: ParsedSse[],
  unknownLabel: (e: ParsedSse) => string | undefined,
  { kinds, sentinel = () => false, title }: {
    kinds?: string[];
    sentinel?: (e: ParsedSse) => boolean;
    title?: EventsTitle;
  } = {},
): Found {
  const blocks = sseEventsBlocks(kinds ?? events.map((e) => e.type), undefined, title);
  const unknown = new Map<string, ParsedSse>();
  for (const e of events) {
    if (!e.data) continue;
    const label = unknownLabel(e);
    if (label !== undefined && !unknown.has(label)) unknown.set(label, e);
  }
  if (unknown.size > 0) {
    blocks.push(heading("Other events (first of each type)"));
    for (const [label, e] of unknown) {
      blocks.push(fields([["Event", label]]), code(prettyJson(e.data, 500), "json"));
    }
  }
  const nonJson = nonJsonEventBlocks(events.filter((e) => !e.data && e.complete && !sentinel(e)));
  blocks.push(...nonJson.blocks);
  const last = events[events.length - 1];
  if (last && !last.complete) blocks.push(...cutOffEventBlocks(last.raw));
  return { blocks, problems: nonJson.problems };
}

/**
 * "Events without JSON data (N)" and their raw text, with the problem "N SSE event(s) with
 * data that is not `what`"; nothing when `events` is empty.
 */
export function nonJsonEventBlocks(
  events: { type: string; raw: string }[],
  what = "a JSON object",
): Found {
  if (events.length === 0) return { blocks: [], problems: [] };
  const text = events.map((e) => `event: ${e.type}\ndata: ${truncate(e.raw, 2000)}`);
  return {
    blocks: [
      heading(`Events without JSON data (${events.length})`),
      code(capText(text.join("\n\n")).text, "text"),
    ],
    problems: [`${events.length} SSE event(s) with data that is not ${what}`],
  };
}

/** The raw text of a last event that was cut off mid-event. */
export function cutOffEventBlocks(raw: string): Block[] {
  return [heading("Last event (cut off)"), code(capText(raw, 4000).text, "text")];
}

/**
 * `blocks` with the paragraph "The stream was cut off (REASON). DETAIL" after the leading
 * fields blocks (where the summary ends).
 */
export function withCutOffNote(blocks: readonly Block[], reason: string, detail?: string): Block[] {
  const at = blocks.findIndex((b) => b.kind !== "fields");
  const end = at < 0 ? blocks.length : at;
  const text = `The stream was cut off (${reason}).${detail ? ` ${detail}` : ""}`;
  return [...blocks.slice(0, end), paragraph(text), ...blocks.slice(end)];
}

/**
 * For a stream found `truncated` ("stream truncated: REASON"): `blocks` with the cut-off note
 * and `detail` (see {@link withCutOffNote}), and the problem. `blocks` as they are, and no
 * problem, when it is undefined.
 */
export function cutOffNote(
  blocks: Block[],
  truncated: string | undefined,
  detail?: string,
): Found {
  if (!truncated) return { blocks, problems: [] };
  const reason = truncated.replace(/^stream truncated: /, "");
  return { blocks: withCutOffNote(blocks, reason, detail), problems: [truncated] };
}

/**
 * A stream's body as every stream renderer finishes it: `final` (the answer rebuilt from the
 * events, with its own problems), the cut-off note and `partial` where the stream was
 * `truncated` ({@link cutOffNote}), `noUsage` as a problem when no usage came, then the events
 * appendix ({@link streamEventBlocks}).
 */
export function finishedStream(
  final: RenderedBody & { problems: string[] },
  events: ParsedSse[],
  unknownLabel: (e: ParsedSse) => string | undefined,
  opts: {
    truncated: string | undefined;
    partial: string;
    noUsage?: string;
    kinds?: string[];
    sentinel?: (e: ParsedSse) => boolean;
    title: EventsTitle;
  },
): RenderedBody {
  const cut = cutOffNote(final.blocks, opts.truncated, opts.partial);
  const appendix = streamEventBlocks(events, unknownLabel, opts);
  return {
    ...final,
    blocks: [...cut.blocks, ...appendix.blocks],
    problems: [
      ...final.problems,
      ...cut.problems,
      ...(final.usage ? [] : [opts.noUsage ?? "no usage reported"]),
      ...appendix.problems,
    ],
  };
}
