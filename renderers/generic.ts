/**
 * Tier-2 renderer for traffic that is not a model turn: health checks (`HEAD /`), model lists,
 * token counts, telemetry, OAuth token calls, Code Assist's `loadCodeAssist`, ... It keeps each
 * exchange short: a summary of the request, the status line, and what the reply holds (a list
 * of ids, a token count, an error, or capped pretty JSON) so that such traffic does not clutter
 * the report.
 *
 * Credentials in bodies (OAuth tokens and codes, API keys: see `maskSecretFields` in
 * lib/redact.ts, `maskStreamText` in lib/redact_split.ts) are masked in everything shown.
 * Nothing here throws on odd input.
 */

import { Confidence } from "../lib/detect.ts";
import type {
  Block,
  DetectInput,
  Entry,
  RenderedBody,
  Renderer,
  ResponseView,
  SseEvent,
} from "../lib/types.ts";
import { isRecord, type JsonObject, num, remainingKeys, str, tryParseJson } from "../lib/json.ts";
import { code, fields, heading, paragraph } from "./blocks.ts";
import { sseEventsBlocks, sseJson, sseRaw } from "./sse_events.ts";
import { capText, excerpt, truncate } from "./text.ts";
import { compactJson, inlineValue, prettyJson } from "./values.ts";
import { maskSecretFields } from "../lib/redact.ts";
import { maskSplitJson, maskSplitSecrets, maskStreamText } from "../lib/redact_split.ts";

/** Cap for a JSON body shown as a code block. */
const MAX_JSON = 8_000;
/** Cap for a text body shown as a code block. */
const MAX_TEXT = 4_000;
/** Longest string inside a JSON body shown. */
const MAX_STRING = 200;
/** Ids listed for a list reply; the rest are counted. */
const MAX_IDS = 20;
/** SSE events whose data is shown. */
const SAMPLE_EVENTS = 3;

/** Capped pretty JSON of a value, secrets masked and long strings cut. */
function jsonBlocks(value: unknown): Block[] {
  // An array of stream chunks: a key they split is never read joined here.
  const cut = capText(prettyJson(maskSecretFields(maskSplitJson(value)), MAX_STRING), MAX_JSON);
  return cut.note ? [code(cut.text, "json"), paragraph(cut.note)] : [code(cut.text, "json")];
}

/** Capped text, secrets masked as in any text body (form pairs, a key NDJSON lines split). */
function textBlocks(text: string): Block[] {
  const cut = capText(maskStreamText(text), MAX_TEXT);
  return cut.note ? [code(cut.text, "text"), paragraph(cut.note)] : [code(cut.text, "text")];
}

const isEmpty = (body: unknown) => body === null || body === undefined || body === "";

/** A JSON string body (text not parsed by the recorder) parsed, else the body unchanged. */
function parsedBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  const trimmed = body.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return body;
  const parsed = tryParseJson(trimmed);
  return parsed.ok ? parsed.value : body;
}

// ---------------------------------------------------------------------------------------------
// Request

function renderRequest(body: unknown, _entry: Entry): RenderedBody {
  if (isEmpty(body)) return { blocks: [paragraph("(no body)")] };
  const value = parsedBody(body);
  if (typeof value === "string") return { blocks: textBlocks(value) };
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const rows: [string, string][] = [["Keys", keys.length > 0 ? keys.join(", ") : "(none)"]];
    return { blocks: [fields(rows), ...jsonBlocks(value)] };
  }
  if (Array.isArray(value)) {
    return { blocks: [fields([["JSON array", `${value.length} items`]]), ...jsonBlocks(value)] };
  }
  return { blocks: jsonBlocks(value) };
}

// ---------------------------------------------------------------------------------------------
// Response

const STATUS_TEXT: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  529: "Overloaded",
};

/** "404 Not Found"; the bare number for codes without a known reason phrase. */
export function statusLine(status: unknown): string {
  const n = num(status);
  if (n === undefined) return inlineValue(status ?? "?");
  const text = STATUS_TEXT[n];
  return text ? `${n} ${text}` : String(n);
}

/** An error body, read into label/value rows. */
interface ApiError {
  rows: [string, string][];
  /** For the problem line. */
  summary: string;
}

/**
 * Reads an error body: OpenAI `{error:{message,type,param,code}}`, Anthropic
 * `{type:"error", error:{type,message}, request_id}`, Google `{error:{code,message,status}}`
 * (also as a one-element array), OAuth `{error:"invalid_grant", error_description}`, and
 * `{detail}` / `{message}` on a 4xx/5xx.
 */
export function readApiError(body: unknown, status: number): ApiError | undefined {
  if (Array.isArray(body)) {
    return body.length > 0 && isRecord(body[0]) && isRecord(body[0].error)
      ? readApiError(body[0], status)
      : undefined;
  }
  if (!isRecord(body)) return undefined;
  const text = (v: unknown) => (v === undefined || v === null ? undefined : inlineValue(v));
  const rows: [string, string][] = [];
  const add = (label: string, v: unknown) => {
    const t = text(v);
    if (t !== undefined) rows.push([label, excerpt(t, 500)]);
  };
  let message: string | undefined;
  let kind: string | undefined;
  const err = body.error;
  if (isRecord(err)) {
    add("Type", err.type);
    add("Code", err.code);
    add("Status", err.status);
    add("Message", err.message);
    add("Param", err.param);
    message = text(err.message);
    kind = text(err.status) ?? text(err.type) ?? text(err.code);
  } else if (typeof err === "string" && err !== "") {
    add("Error", err);
    add("Description", body.error_description);
    message = text(body.error_description);
    kind = err;
  } else if (status >= 400 && (body.detail !== undefined || typeof body.message === "string")) {
    add("Code", body.code);
    add("Message", body.detail ?? body.message);
    message = text(body.detail ?? body.message);
  } else return undefined;
  add("Request ID", body.request_id);
  const what = [kind, message].filter((x) => x !== undefined).join(": ");
  return { rows, summary: what || "(no message)" };
}

/**
 * Ids of a list reply: the first array of objects with a string `id`, `name` or `slug` among
 * the body's values (`{data:[{id}]}`, `{models:[{name}]}`), or the body itself when it is such
 * an array.
 */
function findList(body: unknown): { key?: string; items: unknown[]; ids: string[] } | undefined {
  const idOf = (item: unknown) =>
    isRecord(item) ? str(item.id) ?? str(item.name) ?? str(item.slug) : undefined;
  const check = (items: unknown[], key?: string) => {
    const ids = items.map(idOf).filter((x): x is string => x !== undefined);
    return ids.length > 0 ? { key, items, ids } : undefined;
  };
  if (Array.isArray(body)) return check(body);
  if (!isRecord(body)) return undefined;
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) {
      const found = check(value, key);
      if (found) return found;
    }
  }
  return undefined;
}

function listBlocks(body: unknown, list: NonNullable<ReturnType<typeof findList>>): Block[] {
  const { key, items, ids } = list;
  const shown = ids.slice(0, MAX_IDS);
  const listItems = [...shown];
  if (ids.length > shown.length) listItems.push(`… ${ids.length - shown.length} more`);
  const blocks: Block[] = [
    heading(`${key === undefined ? "Items" : `List "${key}"`} (${items.length})`),
    { kind: "list", items: listItems },
  ];
  const rest = isRecord(body) && key !== undefined
    ? remainingKeys(body, new Set([key]))
    : undefined;
  if (rest) {
    const masked = maskSecretFields(rest) as JsonObject;
    blocks.push(
      fields(Object.entries(masked).map(([k, v]) => [k, excerpt(inlineValue(v), 200)])),
    );
  }
  return blocks;
}

/** Token-count keys of a count_tokens / countTokens reply, with their labels. */
const COUNT_KEYS: [string, string][] = [
  ["input_tokens", "Input tokens"],
  ["totalTokens", "Total tokens"],
  ["total_tokens", "Total tokens"],
  ["cachedContentTokenCount", "Cached tokens"],
];

function countBlocks(body: JsonObject): Block[] | undefined {
  const rows: [string, string][] = [];
  const used = new Set<string>();
  for (const [key, label] of COUNT_KEYS) {
    const n = num(body[key]);
    if (n === undefined) continue;
    rows.push([label, String(n)]);
    used.add(key);
  }
  if (rows.length === 0) return undefined;
  const rest = remainingKeys(body, used);
  return rest ? [fields(rows), ...jsonBlocks(rest)] : [fields(rows)];
}

/** A small flat object (every value a string, number, boolean or null) as label/value rows. */
function flatRows(body: JsonObject): [string, string][] | undefined {
  const entries = Object.entries(maskSecretFields(body) as JsonObject);
  if (entries.length === 0 || entries.length > 20) return undefined;
  if (!entries.every(([, v]) => v === null || typeof v !== "object")) return undefined;
  return entries.map(([k, v]) => [k, excerpt(inlineValue(v), 200)]);
}

function sseBlocks(events: SseEvent[]): Block[] {
  const typeOf = (e: SseEvent) => {
    const value = sseJson(e);
    return (isRecord(value) ? str(value.type) : undefined) ?? (str(e?.type) || "message");
  };
  const blocks = sseEventsBlocks(events.map(typeOf));
  const shown = events.slice(0, SAMPLE_EVENTS);
  // Listed one by one, a key the events split is no longer whole for the report's masking.
  const datas = maskSplitSecrets(shown.map((e) => {
    const value = sseJson(e);
    return value === undefined ? sseRaw(e) : compactJson(maskSecretFields(value), MAX_STRING);
  }));
  const sample = shown.map((e, i) =>
    `event: ${str(e?.type) || "message"}\ndata: ${truncate(datas[i], 1000)}`
  );
  if (sample.length > 0) {
    const title = events.length > SAMPLE_EVENTS ? `First ${SAMPLE_EVENTS} events` : "Events";
    blocks.push(heading(title), code(sample.join("\n\n"), "text"));
  }
  const last = events[events.length - 1];
  if (last && last.complete === false) {
    blocks.push(paragraph("The stream ends mid-event (cut off)."));
  }
  return blocks;
}

function renderResponse(view: ResponseView, _entry: Entry): RenderedBody {
  const status = num(view?.status) ?? 0;
  const rows: [string, string][] = [["Status", statusLine(view?.status)]];
  const contentType = str(view?.contentType);
  if (contentType) rows.push(["Content type", contentType]);
  const blocks: Block[] = [fields(rows)];

  if (view?.kind !== "plain" && Array.isArray(view?.events)) {
    return { blocks: [...blocks, ...sseBlocks(view.events)] };
  }
  const body = parsedBody(view?.body);
  if (isEmpty(body)) return { blocks: [...blocks, paragraph("(no body)")] };

  const error = readApiError(body, status);
  if (error) {
    blocks.push(heading("API error"), fields(error.rows));
    return { blocks, problems: [excerpt(`API error ${status}: ${error.summary}`, 200)] };
  }
  if (typeof body === "string") return { blocks: [...blocks, ...textBlocks(body)] };
  const list = findList(body);
  if (list) return { blocks: [...blocks, ...listBlocks(body, list)] };
  if (isRecord(body)) {
    const counts = countBlocks(body);
    if (counts) return { blocks: [...blocks, ...counts] };
    const flat = flatRows(body);
    if (flat) return { blocks: [...blocks, fields(flat)] };
  }
  return { blocks: [...blocks, ...jsonBlocks(body)] };
}

/**
 * Token counts (`…/count_tokens`, `…/countTokens`, `…:countTokens`), whose bodies look like
 * model requests, as an endpoint; any other exchange as the renderer of last resort.
 */
function detect(req: DetectInput): number {
  if (
    req.method === "POST" && isRecord(req.body) && /count_?[tT]okens$|:countTokens$/.test(req.path)
  ) return Confidence.endpoint;
  return Confidence.fallback;
}

/** Renderer for exchanges that are not model turns (lists, counts, telemetry, OAuth, ...). */
export const generic: Renderer = {
  id: "generic",
  name: "Generic (not a model turn)",
  detect,
  modelTurns: false,
  renderRequest,
  renderResponse,
};
