/**
 * `requestFacts` of the Gemini API (and Code Assist's wrapped form): system instruction,
 * function declarations, contents as parts.
 */
import type { Entry, FactItem, RequestFacts } from "../lib/types.ts";
import { contentText, fact, isObj, keyed, keyOf, strOf } from "./facts_common.ts";

function partFact(role: string, part: unknown): FactItem {
  if (!isObj(part)) return fact(role, "other", keyOf(part), part);
  if (typeof part.text === "string") {
    return fact(role, part.thought === true ? "reasoning" : "text", part.text, part);
  }
  if (isObj(part.functionCall)) {
    const call = part.functionCall;
    return fact(role, "tool_call", keyOf(call.args ?? {}), part, {
      ...(strOf(call.name) ? { name: strOf(call.name) } : {}),
      ...(strOf(call.id) ? { callId: strOf(call.id) } : {}),
    });
  }
  if (isObj(part.functionResponse)) {
    const res = part.functionResponse;
    return fact("tool", "tool_result", keyOf(res.response ?? {}), part, {
      ...(strOf(res.name) ? { name: strOf(res.name) } : {}),
      ...(strOf(res.id) ? { callId: strOf(res.id) } : {}),
    });
  }
  if (isObj(part.inlineData) || isObj(part.fileData)) return fact(role, "media", "[media]", part);
  return fact(role, "other", keyOf(part), part);
}

/** The model named in a Gemini URL (`…/models/NAME:generateContent`). */
function urlModel(url: string): string | undefined {
  return /\/models\/([^/:?]+)/.exec(url)?.[1];
}

export function geminiFacts(body: unknown, entry: Entry): RequestFacts | undefined {
  if (!isObj(body)) return undefined;
  // Code Assist wraps the request: { model, project, request: { contents, ... } }.
  const req = isObj(body.request) && Array.isArray(body.request.contents) ? body.request : body;
  if (!Array.isArray(req.contents)) return undefined;
  const items: FactItem[] = [];
  for (const c of req.contents) {
    if (!isObj(c)) {
      items.push(fact("?", "other", keyOf(c), c));
      continue;
    }
    const role = strOf(c.role) ?? "user";
    for (const p of Array.isArray(c.parts) ? c.parts : []) items.push(partFact(role, p));
  }
  const tools: { name: string; key: string }[] = [];
  for (const t of Array.isArray(req.tools) ? req.tools : []) {
    const decls = isObj(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations : [];
    if (decls.length === 0) {
      tools.push(keyed({ name: isObj(t) ? Object.keys(t)[0] ?? "?" : "?" }, t));
    }
    for (const d of decls) {
      tools.push(keyed({ name: isObj(d) ? strOf(d.name) ?? "?" : "?" }, d));
    }
  }
  const facts: RequestFacts = { tools, items, order: ["system", "tools", "items"] };
  const model = strOf(body.model) ?? urlModel(entry.request.url);
  if (model) facts.model = model;
  const sys = req.systemInstruction ?? req.system_instruction;
  if (isObj(sys)) facts.system = keyed({ text: contentText(sys.parts) }, sys);
  else if (typeof sys === "string") facts.system = keyed({ text: sys }, sys);
  return facts;
}
