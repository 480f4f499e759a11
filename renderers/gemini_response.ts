/**
 * The Gemini response, from any of its three forms: an SSE stream (`alt=sse`), one JSON object,
 * or a JSON array of chunks (whole or cut off); each is turned into chunks, gathered and shown.
 */
import { isRecord, num, remainingKeys, str, tryParseJson } from "../lib/json.ts";
import type { Block, Entry, RenderedBody, ResponseView, SseEvent } from "../lib/types.ts";
import { code, fields, heading, nonObjectBody } from "./blocks.ts";
import { stateBlocks, withIds } from "./gemini_answer.ts";
import { type Chunk, chunkLabel, classify, gather, newState } from "./gemini_chunks.ts";
import { CELL } from "./gemini_parts.ts";
import {
  cutOffEventBlocks,
  cutOffNote,
  endedWhole,
  eventsTitle,
  nonJsonEventBlocks,
  sseEventsBlocks,
  sseJson,
  sseRaw,
} from "./sse_events.ts";
import { excerpt } from "./text.ts";
import { prettyJson } from "./values.ts";

interface ParsedEvent {
  type: string;
  chunk?: Chunk;
  raw: string;
  complete: boolean;
}

function parseEvent(ev: SseEvent): ParsedEvent {
  const value = sseJson(ev);
  const raw = sseRaw(ev);
  return {
    type: str(ev?.type) || "message",
    chunk: value === undefined ? undefined : classify(value, "error chunk"),
    raw,
    complete: endedWhole(ev, value, raw),
  };
}

function renderStream(events: SseEvent[], view?: ResponseView): RenderedBody {
  const parsed = events.map(parseEvent);
  const state = newState();
  const finished = gather(state, parsed.map((e) => e.chunk));
  const out = stateBlocks(state);
  const problems = [...out.problems];

  const last = parsed[parsed.length - 1];
  const lastDesc = last
    ? `${chunkLabel(last.chunk)}${last.complete ? "" : ", cut off mid-event"}`
    : "none";
  let truncated: string | undefined;
  if (!finished) truncated = `stream truncated: no finishReason (last chunk: ${lastDesc})`;
  else if (last && !last.complete) truncated = `stream truncated: last chunk cut off (${lastDesc})`;
  const cut = cutOffNote(
    out.blocks,
    truncated,
    "The output above the cut is shown as it arrived.",
  );
  const blocks = cut.blocks;
  problems.push(...cut.problems);
  if (!out.usage) problems.push("no usage reported");

  blocks.push(...sseEventsBlocks(
    parsed.map((e) => chunkLabel(e.chunk)),
    "Chunk content",
    eventsTitle(view),
  ));
  const others = [...new Set(parsed.map((e) => e.type))].filter((t) => t !== "message");
  if (others.length > 0) blocks.push(fields([["Event types", others.join(", ")]]));
  const nonJson = parsed.filter((e) => !e.chunk && e.complete);
  const notJson = nonJsonEventBlocks(nonJson, "JSON");
  blocks.push(...notJson.blocks);
  problems.push(...notJson.problems);
  if (last && !last.complete && !last.chunk) blocks.push(...cutOffEventBlocks(last.raw));
  return withIds(out.usage ? { blocks, usage: out.usage, problems } : { blocks, problems }, state);
}

// ---------------------------------------------------------------------------------------------
// Response: JSON body (one object, an array of chunks, or the text of a cut-off array)

/**
 * The complete top-level values of a JSON array, from text that may be cut off: for the
 * non-SSE streaming reply, written out piece by piece. `complete` is false when the closing
 * "]" never came. Undefined when the text does not start an array.
 */
export function parseJsonArrayPrefix(
  text: string,
): { items: unknown[]; complete: boolean } | undefined {
  let i = 0;
  const n = text.length;
  const skip = () => {
    while (i < n && /[\s,]/.test(text[i])) i++;
  };
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n && /\s/.test(text[i])) i++;
  if (text[i] !== "[") return undefined;
  i++;
  const items: unknown[] = [];
  for (;;) {
    skip();
    if (i >= n) return { items, complete: false };
    if (text[i] === "]") return { items, complete: true };
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break; // the array's own "]" after a scalar
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      } else if (c === "," && depth === 0) break;
    }
    if (depth > 0 || inString) return { items, complete: false };
    const value = tryParseJson(text.slice(start, i));
    if (!value.ok) return { items, complete: false };
    items.push(value.value);
  }
}

/** "429 RESOURCE_EXHAUSTED: message" of the first error, for the problem line. */
function apiErrorBlocks(errors: Chunk[], status: number): RenderedBody {
  const blocks: Block[] = [];
  const problems: string[] = [];
  for (const chunk of errors) {
    if (chunk.kind !== "error") continue;
    const e = chunk.error;
    const rows: [string, string][] = [["HTTP status", String(status)]];
    if (e.code !== undefined) rows.push(["Code", e.code]);
    if (e.status !== undefined) rows.push(["Status", e.status]);
    if (e.message !== undefined) rows.push(["Message", e.message]);
    blocks.push(heading("API error"), fields(rows));
    const extra = e.extra ?? remainingKeys(chunk.raw, new Set(["error"]));
    if (extra) blocks.push(code(prettyJson(chunk.raw), "json"));
    const what = [e.status, e.message].filter((x) => x !== undefined).join(": ");
    problems.push(excerpt(`API error ${status}: ${what || "(no message)"}`, CELL));
  }
  return { blocks, problems };
}

function renderChunks(
  values: unknown[],
  status: number,
  form: "object" | "array",
  cutOff: boolean,
): RenderedBody {
  const chunks = values.map((v) => classify(v, form === "array" ? "error chunk" : "API error"));
  if (chunks.length > 0 && chunks.every((c) => c.kind === "error")) {
    return apiErrorBlocks(chunks, status);
  }
  const state = newState();
  const finished = gather(state, chunks);
  const out = stateBlocks(state);
  const problems = [...out.problems];
  let blocks = out.blocks;
  if (form === "array") {
    const note = `${values.length} chunk${values.length === 1 ? "" : "s"} (JSON array stream)`;
    const at = blocks.findIndex((b) => b.kind === "fields");
    if (at === 0 && blocks[0].kind === "fields") blocks[0].rows.push(["Chunks", note]);
    else blocks.unshift(fields([["Chunks", note]]));
    const last = chunks[chunks.length - 1];
    const lastDesc = `${last ? chunkLabel(last) : "none"}${cutOff ? ", array cut off" : ""}`;
    let truncated: string | undefined;
    if (!finished) truncated = `stream truncated: no finishReason (last chunk: ${lastDesc})`;
    else if (cutOff) truncated = `stream truncated: JSON array cut off (last chunk: ${lastDesc})`;
    const cut = cutOffNote(blocks, truncated);
    blocks = cut.blocks;
    problems.push(...cut.problems);
  } else if (!finished && state.candidates.size > 0) {
    problems.push("no finishReason in the response");
  }
  if (!out.usage) problems.push("no usage reported");
  return withIds(out.usage ? { blocks, usage: out.usage, problems } : { blocks, problems }, state);
}

export function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  if (view?.kind !== "plain" && Array.isArray(view?.events)) return renderStream(view.events, view);
  const body = view?.body;
  const status = num(view?.status) ?? 0;
  if (isRecord(body)) return renderChunks([body], status, "object", false);
  if (Array.isArray(body)) return renderChunks(body, status, "array", false);
  if (typeof body === "string") {
    const whole = tryParseJson(body);
    if (whole.ok && isRecord(whole.value)) {
      return renderChunks([whole.value], status, "object", false);
    }
    if (whole.ok && Array.isArray(whole.value)) {
      return renderChunks(whole.value, status, "array", false);
    }
    const prefix = parseJsonArrayPrefix(body);
    if (prefix && !prefix.complete) {
      const out = renderChunks(prefix.items, status, "array", true);
      const tail = body.length > 500 ? `…${body.slice(-500)}` : body;
      out.blocks.push(heading("End of the body (cut off)"), code(tail, "text"));
      return out;
    }
  }
  const blocks = nonObjectBody(body);
  return status >= 400
    ? { blocks, problems: [`HTTP ${status} with a body that is not a JSON error`] }
    : { blocks };
}
