/**
 * Tool definitions of a request: the tools table, the schemas block and the tools part.
 *
 * @module
 */

import { arr, isRecord, type JsonObject, remainingKeys } from "../lib/json.ts";
import type { Block, RequestParts } from "../lib/types.ts";
import { cappedTextBlocks, code, fields, heading, rawSection } from "./blocks.ts";
import { excerpt, firstLine, MAX_BODY_TEXT } from "./text.ts";
import { compactJson, prettyJson } from "./values.ts";

/**
 * Names of the parameters of a JSON Schema object, required ones marked with "*", e.g.
 * "path*, content*, mode". Empty when the schema has no `properties`.
 */
export function paramSummary(schema: unknown): string {
  if (!isRecord(schema) || !isRecord(schema.properties)) return "";
  const required = new Set(arr(schema.required).filter((r) => typeof r === "string"));
  return Object.keys(schema.properties)
    .map((name) => (required.has(name) ? `${name}*` : name))
    .join(", ");
}

/** The Parameters cell of a JSON Schema: its parameter names, "(none)", or the odd value. */
export function schemaParams(schema: unknown): string {
  return paramSummary(schema) ||
    (isRecord(schema) ? "(none)" : excerpt(compactJson(schema), 120));
}

/** The keys of `obj` other than `shown`, as a short compact-JSON cell; "" when none. */
export function otherKeysCell(obj: JsonObject, shown: ReadonlySet<string>): string {
  const rest = remainingKeys(obj, shown);
  return rest ? excerpt(compactJson(rest, 60), 120) : "";
}

/** The tools-table row of a tool definition that is not an object. */
export function oddToolRow(tool: unknown, kind: string = typeof tool): string[] {
  return ["?", kind, "", excerpt(compactJson(tool), 120)];
}

/**
 * The tools section: "Tools (N)" heading (N = rows), the table (Name, `kind`, Description,
 * Parameters) of each tool's `rowsOf`, then the schemas of {@link toolSchemasBlocks} from
 * each object tool's `schemasOf`. Nothing for absent tools; raw when they are not an array.
 */
export function toolsSection(
  tools: unknown,
  rowsOf: (tool: unknown) => string[][],
  schemasOf: (tool: JsonObject) => [name: string, schema: unknown][],
  kind = "Type",
): Block[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) return rawSection("Tools", "tools is not an array:", tools);
  const rows = tools.flatMap(rowsOf);
  return [
    heading(`Tools (${rows.length})`),
    { kind: "table", header: ["Name", kind, "Description", "Parameters"], rows },
    ...toolSchemasBlocks(tools.flatMap((t) => (isRecord(t) ? schemasOf(t) : []))),
  ];
}

/** Longest tool description shown in the Description cell (its first line, cut). */
export const DESCRIPTION_CELL = 120;

/** The Description cell of a tool: the first line of its description, cut. */
export function descriptionCell(description: string): string {
  return firstLine(description, DESCRIPTION_CELL);
}

/**
 * "Tool descriptions" heading and, for each tool whose Description cell shows only part of its
 * description (more lines, or a longer line), the tool's name and the whole description;
 * nothing when every description fits its cell.
 */
export function toolDescriptionsBlocks(descriptions: [name: string, text: string][]): Block[] {
  const blocks: Block[] = [];
  for (const [name, text] of descriptions) {
    if (text.trim() === "" || descriptionCell(text) === text.trim()) continue;
    blocks.push(fields([["Tool", name]]), ...cappedTextBlocks(text, MAX_BODY_TEXT));
  }
  return blocks.length > 0 ? [heading("Tool descriptions"), ...blocks] : [];
}

/**
 * "Tool schemas" heading and one JSON block of the schemas keyed by tool name (repeated names
 * get " (2)", " (3)", ...); nothing when no tool has a schema.
 */
export function toolSchemasBlocks(schemas: [name: string, schema: unknown][]): Block[] {
  const out: JsonObject = {};
  let any = false;
  for (const [name, schema] of schemas) {
    if (schema === undefined) continue;
    out[unusedKey(out, name)] = schema;
    any = true;
  }
  return any ? [heading("Tool schemas"), code(prettyJson(out), "json")] : [];
}

/**
 * `name`, or "name (2)", "name (3)", ... when `into` has it already: a request may define two
 * tools of one name, and neither may hide the other.
 */
export function unusedKey(into: Record<string, unknown>, name: string): string {
  let key = name;
  for (let i = 2; Object.hasOwn(into, key); i++) key = `${name} (${i})`;
  return key;
}

/**
 * The request's `tools` as request parts: an array as the tools part (one fingerprint per
 * tool, named by `nameOf`; the rendering stays lazy), anything else as raw `extra` blocks.
 */
export function toolsPart(
  tools: unknown,
  nameOf: (tool: unknown) => string,
  blocks: (tools: unknown) => Block[],
): { tools?: RequestParts["tools"]; extra: Block[] } {
  if (!Array.isArray(tools)) return { extra: blocks(tools) };
  const fingerprints: Record<string, unknown> = {};
  for (const tool of tools) fingerprints[unusedKey(fingerprints, nameOf(tool))] = tool;
  return { tools: { title: "Tools", fingerprints, blocks: () => blocks(tools) }, extra: [] };
}
