/** `requestFacts` of the OpenAI Responses API: instructions, tools, input items. */
import type { Entry, FactItem, RequestFacts } from "../lib/types.ts";
import { contentText, fact, isObj, keyed, keyOf, strOf } from "./facts_common.ts";

function callExtra(item: Record<string, unknown>): { name?: string; callId?: string } {
  const extra: { name?: string; callId?: string } = {};
  const name = strOf(item.name);
  const id = strOf(item.call_id) ?? strOf(item.id);
  if (name) extra.name = name;
  if (id) extra.callId = id;
  return extra;
}

/** One input item as facts (a message with several parts stays one item). */
export function responsesItemFact(item: unknown): FactItem {
  if (typeof item === "string") return fact("user", "text", item, item);
  if (!isObj(item)) return fact("?", "other", keyOf(item), item);
  const type = strOf(item.type) ?? (item.role ? "message" : "?");
  switch (type) {
    case "message": {
      const role = strOf(item.role) ?? "?";
      return fact(role, "text", contentText(item.content), item);
    }
    case "reasoning": {
      const summary = Array.isArray(item.summary) ? contentText(item.summary) : "";
      return fact("assistant", "reasoning", summary || "[encrypted reasoning]", item);
    }
    case "function_call":
      return fact("assistant", "tool_call", strOf(item.arguments) ?? "", item, callExtra(item));
    case "custom_tool_call":
      return fact("assistant", "tool_call", strOf(item.input) ?? "", item, callExtra(item));
    case "local_shell_call":
      return fact("assistant", "tool_call", keyOf(item.action ?? {}), item, {
        name: "local_shell",
        ...(strOf(item.call_id) ? { callId: strOf(item.call_id) } : {}),
      });
    case "function_call_output":
    case "custom_tool_call_output":
    case "local_shell_call_output": {
      const out = item.output;
      const text = typeof out === "string" ? out : contentText(out);
      return fact("tool", "tool_result", text, item, {
        ...(strOf(item.call_id) ? { callId: strOf(item.call_id) } : {}),
      });
    }
    default:
      if (type.endsWith("_call")) {
        return fact("assistant", "tool_call", keyOf(item), item, { name: type });
      }
      return fact(strOf(item.role) ?? "?", "other", keyOf(item), item);
  }
}

export function responsesFacts(body: unknown, _entry: Entry): RequestFacts | undefined {
  if (!isObj(body) || (body.input === undefined && body.instructions === undefined)) {
    return undefined;
  }
  const input = typeof body.input === "string"
    ? [{ type: "message", role: "user", content: body.input }]
    : Array.isArray(body.input)
    ? body.input
    : [];
  // Newer Codex sends its tools as an `additional_tools` input item, and its instructions as
  // leading developer messages: both count as what they are, not as conversation.
  const toolDefs: unknown[] = Array.isArray(body.tools) ? [...body.tools] : [];
  const systemTexts: string[] = typeof body.instructions === "string" ? [body.instructions] : [];
  const systemRaw: unknown[] = body.instructions !== undefined ? [body.instructions] : [];
  const items: FactItem[] = [];
  let leading = true;
  for (const item of input) {
    if (isObj(item) && item.type === "additional_tools" && Array.isArray(item.tools)) {
      for (const t of item.tools) {
        if (isObj(t) && t.type === "namespace" && Array.isArray(t.tools)) toolDefs.push(...t.tools);
        else toolDefs.push(t);
      }
      continue;
    }
    if (
      leading && isObj(item) && (item.type ?? "message") === "message" &&
      (item.role === "developer" || item.role === "system")
    ) {
      systemTexts.push(contentText(item.content));
      systemRaw.push(item);
      continue;
    }
    leading = false;
    items.push(responsesItemFact(item));
  }
  const facts: RequestFacts = {
    tools: toolDefs.map((t) =>
      keyed({ name: isObj(t) ? strOf(t.name) ?? strOf(t.type) ?? "?" : "?" }, t)
    ),
    items,
    order: ["system", "tools", "items"],
  };
  if (strOf(body.model)) facts.model = strOf(body.model);
  if (systemRaw.length > 0) {
    facts.system = keyed({ text: systemTexts.join("\n\n") }, systemRaw);
  }
  return facts;
}
