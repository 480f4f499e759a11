/**
 * One turn as the page shows it, computed on demand from the exchange read back from the
 * capture: its conversation items (what is new and, for the full view, all of them), the
 * response as the renderer rebuilt it, the system prompt (with the previous one when it changed)
 * and tools with their change since the previous turn, and the raw request and response and a cURL command, all redacted.
 */
import { redactEntry } from "../redact_entry.ts";
import { responseView } from "../analyze.ts";
import { requestFacts, wholeRequest } from "../model/input.ts";
import type { Block, Entry, FactItem, Headers, ModelCall, Renderer } from "../types.ts";

export interface TurnDetail {
  index: number;
  /** The call's number when the exchange carries several model calls (a WebSocket's turns). */
  call?: number;
  method: string;
  url: string;
  status: string;
  items: FactItem[];
  /** `previous`: the previous turn's system prompt when it changed (the page diffs them). */
  system: { text: string; previous: string | null; changed: boolean } | null;
  /** `diffs`: a changed tool's definition before and after, as indented JSON (the page diffs). */
  tools: {
    names: string[];
    added: string[];
    removed: string[];
    changed: string[];
    diffs: { name: string; before: string; after: string }[];
  } | null;
  response: Block[];
  responseProblems: string[];
  raw: { request: string; response: string };
  curl: string;
}

/** Longest text of an item, a system prompt or a raw body sent to the page. */
const MAX_TEXT = 200_000;

const cap = (s: string) =>
  s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + `\n… (${s.length - MAX_TEXT} more characters)` : s;

/** Call `number` of an exchange whose response carries several model calls. */
function callOf(renderer: Renderer, entry: Entry, number: number): ModelCall | undefined {
  const view = responseView(entry);
  if (!view) return undefined;
  try {
    return renderer.renderResponse(view, entry).calls?.find((c) => c.number === number);
  } catch {
    return undefined;
  }
}

function rawText(headers: Headers, body: unknown, first: string): string {
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join("\n");
  const text = typeof body === "string" ? body : JSON.stringify(body, null, 2);
  return cap(`${first}\n${head}\n\n${text ?? ""}`);
}

/** A tool definition's JSON text laid out a field a line, so a line diff shows what changed. */
function indented(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The turn `index` as the page shows it. Everything is computed from the entries redacted as
 * for every other output (headers, URL, credential fields of JSON, form and SSE bodies,
 * WebSocket messages, key shapes), so no part of it (items, system prompt, response, raw text,
 * cURL) can show what the capture kept raw.
 */
export function turnDetail(
  index: number,
  raw: Entry,
  rawPrevious: Entry | undefined,
  renderer: Renderer,
  redact: (h: Headers) => Headers,
  calls: { call?: number; previous?: number } = {},
): TurnDetail {
  const whole = redactEntry(raw, redact);
  const previousWhole = rawPrevious && redactEntry(rawPrevious, redact);
  // A turn that is one call of an exchange carrying several is shown as that call alone.
  const call = calls.call ? callOf(renderer, whole, calls.call) : undefined;
  const previousCall = calls.previous && previousWhole
    ? callOf(renderer, previousWhole, calls.previous)
    : undefined;
  const entry = call?.entry ?? whole;
  const previous = previousCall?.entry ?? previousWhole;
  // A call is compared as the server saw it (its whole request), as the model does.
  const facts = requestFacts(renderer, call ? wholeRequest(call) : entry);
  const before = previous &&
    requestFacts(renderer, previousCall ? wholeRequest(previousCall) : previous);
  const url = entry.request.url;
  const reqHeaders = entry.request.headers ?? {};
  let response: Block[] = [];
  let responseProblems: string[] = [];
  const view = call ? undefined : responseView(entry);
  if (call) {
    response = call.response?.blocks ?? [];
    responseProblems = call.problems;
  } else if (view && entry.response?.body_encoding !== "base64") {
    try {
      const r = renderer.renderResponse(view, entry);
      response = r.blocks;
      responseProblems = r.problems ?? [];
    } catch (err) {
      responseProblems = [`renderer failed: ${(err as Error).message}`];
    }
  }
  let system: TurnDetail["system"] = null;
  if (facts?.system) {
    const old = before?.system?.text;
    const changed = old !== undefined && old !== facts.system.text;
    system = {
      text: cap(facts.system.text),
      changed,
      previous: changed ? cap(old) : null,
    };
  }
  let tools: TurnDetail["tools"] = null;
  if (facts) {
    const now = new Map(facts.tools.map((t) => [t.name, t.key]));
    const was = new Map((before?.tools ?? []).map((t) => [t.name, t.key]));
    const changed = before
      ? [...now.keys()].filter((n) => was.has(n) && was.get(n) !== now.get(n))
      : [];
    tools = {
      names: [...now.keys()],
      added: before ? [...now.keys()].filter((n) => !was.has(n)) : [],
      removed: before ? [...was.keys()].filter((n) => !now.has(n)) : [],
      changed,
      diffs: changed.map((name) => ({
        name,
        before: cap(indented(was.get(name)!)),
        after: cap(indented(now.get(name)!)),
      })),
    };
  }
  const body = entry.request.body;
  const bodyText = typeof body === "string" ? body : JSON.stringify(body);
  const curl = [
    `curl -X ${entry.request.method} ${shellQuote(url)}`,
    ...Object.entries(reqHeaders)
      .filter(([k]) => !/^(content-length|host|connection|accept-encoding)$/i.test(k))
      .map(([k, v]) => `  -H ${shellQuote(`${k}: ${v}`)}`),
    ...(body === null || body === undefined
      ? []
      : [`  --data-binary ${shellQuote(bodyText ?? "")}`]),
  ].join(" \\\n");
  return {
    index,
    ...(call ? { call: call.number } : {}),
    method: entry.request.method,
    url,
    status: entry.response
      ? String(entry.response.status_code)
      : entry.error
      ? "error"
      : "in progress",
    items: (facts?.items ?? []).map((it) => ({ ...it, text: cap(it.text), key: "" })),
    system,
    tools,
    response,
    responseProblems,
    raw: {
      request: rawText(reqHeaders, body, `${entry.request.method} ${url}`),
      response: entry.response
        ? rawText(
          entry.response.headers ?? {},
          entry.response.body,
          `HTTP ${entry.response.status_code}`,
        )
        : entry.error ?? "(no response)",
    },
    curl: cap(curl),
  };
}
