/**
 * API errors: reading error objects, their problem lines, the errors table and error bodies.
 *
 * @module
 */

import { isRecord, type JsonObject, remainingKeys } from "../lib/json.ts";
import type { Block, RenderedBody } from "../lib/types.ts";
import { code, fields, heading } from "./blocks.ts";
import { excerpt } from "./text.ts";
import { inlineValue, prettyJson } from "./values.ts";

/** An error from an error event, a failed response, or an error body. */
export interface ErrorInfo {
  /** Where it came from: "error event", "API error", ... */
  source: string;
  type?: string;
  code?: string;
  /** Google's status name, e.g. "RESOURCE_EXHAUSTED". */
  status?: string;
  message?: string;
  param?: string;
  /** Other keys of the error object, when the reader keeps them. */
  extra?: JsonObject;
}

/** Text of an error field: undefined for absent or null. */
const errorText = (v: unknown) => (v === undefined || v === null ? undefined : inlineValue(v));

/**
 * Reads `{type, code, message, param}` from an error object (a string is the message); `type`
 * is skipped when `skipType` is set (for an event whose own `type` is "error").
 */
export function errorInfo(source: string, err: unknown, skipType = false): ErrorInfo {
  if (typeof err === "string") return { source, message: err };
  if (!isRecord(err)) return { source, message: err === undefined ? undefined : inlineValue(err) };
  return {
    source,
    type: skipType ? undefined : errorText(err.type),
    code: errorText(err.code),
    message: errorText(err.message),
    param: errorText(err.param),
  };
}

/** Reads Google's `{code, status, message}` error object; other keys go to `extra`. */
export function googleErrorInfo(source: string, err: unknown): ErrorInfo {
  if (typeof err === "string") return { source, message: err };
  if (!isRecord(err)) return { source, message: inlineValue(err) };
  const info: ErrorInfo = {
    source,
    code: errorText(err.code),
    status: errorText(err.status),
    message: errorText(err.message),
  };
  const extra = remainingKeys(err, new Set(["code", "status", "message"]));
  if (extra) info.extra = extra;
  return info;
}

/** One problem line: "source: code-or-type: message". */
export function errorLine(e: ErrorInfo): string {
  return problemLine(e.source, [e.code ?? e.type, e.message]);
}

/** The problem lines of `errors` (see {@link errorLine}). */
export function errorLines(errors: readonly ErrorInfo[]): string[] {
  return errors.map(errorLine);
}

/** One problem line for a Google error: "source: 429 RESOURCE_EXHAUSTED: message". */
export function googleErrorLine(e: ErrorInfo): string {
  const head = [e.code, e.status].filter((x) => x !== undefined).join(" ");
  return problemLine(e.source, [head || undefined, e.message]);
}

function problemLine(source: string, pieces: (string | undefined)[]): string {
  const what = pieces.filter((x) => x !== undefined).join(": ");
  return excerpt(`${source}: ${what || "(no details)"}`, 200);
}

/** Optional columns of the errors table. */
export type ErrorColumn = "type" | "code" | "status" | "message" | "param";

const ERROR_LABELS: Record<ErrorColumn, string> = {
  type: "Type",
  code: "Code",
  status: "Status",
  message: "Message",
  param: "Param",
};

/** "Errors" heading and a table with Source plus `columns`; nothing when there are no errors. */
export function errorsBlocks(
  errors: ErrorInfo[],
  columns: readonly ErrorColumn[] = ["type", "code", "message", "param"],
): Block[] {
  if (errors.length === 0) return [];
  const cell = (v: string | undefined) => (v === undefined ? "" : excerpt(v, 500));
  return [
    heading("Errors"),
    {
      kind: "table",
      header: ["Source", ...columns.map((c) => ERROR_LABELS[c])],
      rows: errors.map((e) => [e.source, ...columns.map((c) => cell(e[c]))]),
    },
  ];
}

/**
 * An API error body: "API error" heading, HTTP status and the error's fields (plus `extra`
 * rows), the whole body as JSON when it holds keys not shown (`shown` top-level keys and the
 * error object's type/code/message/param), and the problem "API error STATUS: message".
 */
export function apiErrorBody(
  body: JsonObject,
  e: ErrorInfo,
  status: number,
  extra: [string, string][] = [],
  shown: ReadonlySet<string> = new Set(["error"]),
): RenderedBody {
  const rows: [string, string][] = [["HTTP status", String(status)]];
  const add = (label: string, value: string | undefined) => {
    if (value !== undefined) rows.push([label, value]);
  };
  add("Type", e.type);
  add("Code", e.code);
  add("Message", e.message);
  add("Param", e.param);
  rows.push(...extra);
  const blocks: Block[] = [heading("API error"), fields(rows)];
  const errKeys = new Set(["type", "code", "message", "param"]);
  const more = remainingKeys(body, shown) ||
    (isRecord(body.error) ? remainingKeys(body.error, errKeys) : undefined);
  if (more) blocks.push(code(prettyJson(body), "json"));
  const what = e.message ?? e.code ?? e.type ?? "(no message)";
  return { blocks, problems: [excerpt(`API error ${status}: ${what}`, 200)] };
}
