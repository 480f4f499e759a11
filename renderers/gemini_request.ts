/**
 * The Gemini request: settings, system instruction, contents and tools, bare or in the Code
 * Assist wrapper (`{model, project, request: {...}}`).
 */
import { arr, isRecord, type JsonObject, remainingKeys, str } from "../lib/json.ts";
import type { Block, Entry, RenderedBody, RequestParts } from "../lib/types.ts";
import { code, heading, rawSection, textSection } from "./blocks.ts";
import { camelGeminiRequest } from "./gemini_keys.ts";
import { CELL, functionResponseText, partCell, partType } from "./gemini_parts.ts";
import { renderFromParts, unitItems } from "./request_parts.ts";
import { otherSettings, settingRow } from "./settings.ts";
import { capText, excerpt, firstLine } from "./text.ts";
import { oddToolRow, schemaParams, toolsSection, unusedKey } from "./tools.ts";
import { compactJson, inlineValue, objectSummary, prettyJson } from "./values.ts";

/** Cap for the system instruction text (the Gemini CLI sends ~30k characters). */
const MAX_INSTRUCTION = 200_000;

/** The model named in a URL path (`…/models/gemini-2.5-pro:streamGenerateContent`), if any. */
export function modelFromUrl(url: unknown): string | undefined {
  if (typeof url !== "string") return undefined;
  const match = /\/models\/([^/:?#]+)/.exec(url);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

/** The Code Assist wrapper, unwrapped: the inner body and the wrapper's own fields. */
interface Unwrapped {
  inner: JsonObject;
  wrapper?: JsonObject;
}

function unwrapRequest(body: JsonObject): Unwrapped {
  if (isRecord(body.request)) return { inner: camelGeminiRequest(body.request), wrapper: body };
  return { inner: camelGeminiRequest(body) };
}

/** "temperature: 0.7, topP: 0.95, thinkingConfig: {"includeThoughts":true}", without `skip`. */
function configSummary(value: unknown, skip?: ReadonlySet<string>): string {
  return objectSummary(value, skip, false);
}

/** Generation config keys shown as a code block of their own. */
const SCHEMA_KEYS: ReadonlySet<string> = new Set(["responseSchema", "responseJsonSchema"]);

/** Keys rendered by their own section or field: not repeated in "Other settings". */
const INNER_SHOWN = [
  "model",
  "contents",
  "systemInstruction",
  "tools",
  "toolConfig",
  "generationConfig",
  "cachedContent",
  "session_id",
];
const WRAPPER_SHOWN = ["model", "project", "user_prompt_id", "request"];

function requestFields(
  { inner, wrapper }: Unwrapped,
  entry: Entry,
): { rows: [string, string][]; cut: Set<string>; model?: string } {
  const rows: [string, string][] = [];
  const cut = new Set<string>();
  const add = (label: string, key: string, value: string) => {
    const setting = settingRow(label, value);
    rows.push(setting.row);
    if (setting.cut) cut.add(key);
  };
  if (wrapper) rows.push(["API", "Code Assist wrapper"]);
  const bodyModel = wrapper?.model ?? inner.model;
  const model = typeof bodyModel === "string" ? bodyModel : modelFromUrl(entry?.request?.url);
  if (bodyModel !== undefined) add("Model", "model", inlineValue(bodyModel));
  else if (model !== undefined) rows.push(["Model", model]);
  if (wrapper?.project !== undefined) rows.push(["Project", inlineValue(wrapper.project)]);
  if (wrapper?.user_prompt_id !== undefined) {
    rows.push(["User prompt ID", inlineValue(wrapper.user_prompt_id)]);
  }
  if (inner.session_id !== undefined) {
    add("Session ID", "session_id", inlineValue(inner.session_id));
  }
  if (inner.generationConfig !== undefined) {
    add(
      "Generation config",
      "generationConfig",
      configSummary(inner.generationConfig, SCHEMA_KEYS),
    );
  }
  if (inner.toolConfig !== undefined) {
    add("Tool config", "toolConfig", configSummary(inner.toolConfig));
  }
  if (inner.cachedContent !== undefined) {
    add("Cached content", "cachedContent", inlineValue(inner.cachedContent));
  }
  return model ? { rows, cut, model } : { rows, cut };
}

function responseSchemaBlocks(config: unknown): Block[] {
  if (!isRecord(config)) return [];
  const blocks: Block[] = [];
  for (const key of SCHEMA_KEYS) {
    if (config[key] === undefined) continue;
    blocks.push(heading(`Response schema (${key})`), code(prettyJson(config[key]), "json"));
  }
  return blocks;
}

/** The system instruction's text (parts joined), or undefined when it has no parts array. */
function systemText(instruction: unknown): string | undefined {
  let text: string | undefined;
  if (typeof instruction === "string") text = instruction;
  else if (isRecord(instruction) && Array.isArray(instruction.parts)) {
    const texts: string[] = [];
    for (const part of instruction.parts) {
      if (isRecord(part) && typeof part.text === "string" && partType(part) === "text") {
        texts.push(part.text);
      } else texts.push(`[${partType(part)}] ${partCell(part)}`);
    }
    text = texts.join("\n\n");
  }
  return text;
}

function systemInstructionBlocks(instruction: unknown): Block[] {
  const text = systemText(instruction);
  return text === undefined
    ? rawSection(
      "System instruction",
      "systemInstruction is not a Content with parts:",
      instruction,
    )
    : textSection("System instruction", text, MAX_INSTRUCTION);
}

/** The text a row shows only in part: long user text and tool results (not model output). */
function partFullText(part: unknown, role: string): string | undefined {
  if (!isRecord(part) || role === "model") return undefined;
  let text: string | undefined;
  const type = partType(part);
  if (type === "text") text = str(part.text);
  else if (type === "functionResponse" && isRecord(part.functionResponse)) {
    text = functionResponseText(part.functionResponse.response);
  }
  return text !== undefined && text.length > CELL ? capText(text).text : undefined;
}

/** The parts of a content that are rows of their own, or undefined when it is one row. */
function partsOf(content: unknown): unknown[] | undefined {
  const parts = isRecord(content) ? content.parts : undefined;
  return Array.isArray(parts) && parts.length > 0 ? parts : undefined;
}

/** Identities of a content's rows: each part with the role, or the whole content. */
function contentKeys(content: unknown): unknown[] {
  const parts = partsOf(content);
  if (!parts) return [content];
  const role = (content as JsonObject).role;
  return parts.map((part) => ({ role, part }));
}

const roleText = (content: JsonObject) =>
  str(content.role) ?? (content.role === undefined ? "" : inlineValue(content.role));

/** Row `unit` of a content: its part, numbered "3" or "3.1", "3.2" for several. */
function contentRow(content: unknown, index: number, unit: number): string[] {
  const n = String(index + 1);
  if (!isRecord(content)) {
    return [n, "", `(${Array.isArray(content) ? "array" : typeof content})`, partCell(content)];
  }
  const role = roleText(content);
  const parts = content.parts;
  if (!Array.isArray(parts)) {
    const rest = remainingKeys(content, new Set(["role"]));
    return [n, role, "(no parts array)", excerpt(compactJson(rest ?? {}, 100), CELL)];
  }
  if (parts.length === 0) return [n, role, "(no parts)", ""];
  const part = parts[unit];
  const type = partType(part);
  return [
    parts.length === 1 ? n : `${n}.${unit + 1}`,
    type === "functionResponse" ? "tool result" : role,
    type,
    partCell(part),
  ];
}

/** The contents as conversation items (one per part), or raw blocks when not an array. */
function contentItems(contents: unknown): RequestParts["items"] | Block[] {
  if (!Array.isArray(contents)) {
    return rawSection("Contents", "contents is not an array:", contents);
  }
  return unitItems({
    title: "Content parts",
    header: ["#", "Role", "Part type", "Content"],
    messages: contents,
    keys: contentKeys,
    row: contentRow,
    full: (content, unit) => {
      const parts = partsOf(content);
      return parts && partFullText(parts[unit], roleText(content as JsonObject));
    },
  });
}

/** Rows of one `tools[]` entry: its function declarations, then its other tool kinds by key. */
function toolRows(tool: unknown): string[][] {
  if (!isRecord(tool)) return [oddToolRow(tool, `(${typeof tool})`)];
  const rows: string[][] = [];
  for (const [key, value] of Object.entries(tool)) {
    if (key === "functionDeclarations" && Array.isArray(value)) {
      for (const fn of value) {
        if (!isRecord(fn)) {
          rows.push(oddToolRow(fn, "function"));
          continue;
        }
        const schema = fn.parameters ?? fn.parametersJsonSchema;
        const params = schema === undefined ? "" : schemaParams(schema);
        rows.push([
          str(fn.name) ?? "?",
          "function",
          firstLine(str(fn.description) ?? "", 120),
          params,
        ]);
      }
    } else {
      const settings = isRecord(value) && Object.keys(value).length === 0
        ? ""
        : excerpt(compactJson(value, 60), 120);
      rows.push([key, "built-in", "", settings]);
    }
  }
  return rows;
}

/** Parameter schemas of a tool's function declarations, by function name. */
function toolSchemas(tool: JsonObject): [string, unknown][] {
  return arr(tool.functionDeclarations).flatMap((fn) =>
    isRecord(fn) ? [[str(fn.name) ?? "?", fn.parameters ?? fn.parametersJsonSchema]] : []
  ) as [string, unknown][];
}

function toolsBlocks(tools: unknown): Block[] {
  return toolsSection(tools, toolRows, toolSchemas, "Kind");
}

/** Tool fingerprints keyed by function name (or built-in tool key), for the per-turn view. */
function toolFingerprints(tools: unknown[]): Record<string, unknown> {
  const fingerprints: Record<string, unknown> = {};
  tools.forEach((tool, i) => {
    if (!isRecord(tool)) {
      fingerprints[`(tool ${i + 1})`] = tool;
      return;
    }
    for (const [key, value] of Object.entries(tool)) {
      if (key === "functionDeclarations" && Array.isArray(value)) {
        value.forEach((fn, j) => {
          const name = isRecord(fn) ? str(fn.name) : undefined;
          fingerprints[unusedKey(fingerprints, name ?? `(function ${i + 1}.${j + 1})`)] = fn;
        });
      } else fingerprints[unusedKey(fingerprints, key)] = value;
    }
  });
  return fingerprints;
}

export function requestParts(body: unknown, entry: Entry): RequestParts | undefined {
  if (!isRecord(body)) return undefined;
  const unwrapped = unwrapRequest(body);
  const { inner, wrapper } = unwrapped;
  const { rows, cut, model } = requestFields(unwrapped, entry);
  const parts: RequestParts = { fields: rows, extra: [] };
  if (model) parts.model = model;
  const session = str(inner.session_id);
  if (session) parts.conversationKey = session;
  const instruction = inner.systemInstruction;
  if (instruction !== undefined) {
    parts.system = {
      title: "System instruction",
      text: systemText(instruction) ?? JSON.stringify(instruction),
      blocks: () => systemInstructionBlocks(instruction),
    };
  }
  if (inner.contents !== undefined) {
    const items = contentItems(inner.contents);
    if (Array.isArray(items)) parts.extra.push(...items);
    else parts.items = items;
  }
  const tools = inner.tools;
  if (Array.isArray(tools)) {
    parts.tools = {
      title: "Tools",
      fingerprints: toolFingerprints(tools),
      blocks: () => toolsBlocks(tools),
    };
  } else parts.extra.push(...toolsBlocks(tools));
  parts.extra.push(...responseSchemaBlocks(inner.generationConfig));
  const rest: JsonObject = {
    ...remainingKeys(inner, new Set(INNER_SHOWN.filter((k) => !cut.has(k)))),
  };
  if (wrapper) {
    const shown = new Set(WRAPPER_SHOWN.filter((k) => !cut.has(k)));
    for (const [k, v] of Object.entries(remainingKeys(wrapper, shown) ?? {})) {
      rest[k in rest ? `(wrapper) ${k}` : k] = v;
    }
  }
  parts.extra.push(...otherSettings(rest));
  return parts;
}

export function renderRequest(body: unknown, entry: Entry): RenderedBody {
  return renderFromParts(requestParts(body, entry), body);
}
