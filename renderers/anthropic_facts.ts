/** `requestFacts` of the Anthropic Messages API: system, tools, messages as content blocks. */
import type { Entry, FactItem, RequestFacts } from "../lib/types.ts";
import { contentText, fact, isObj, keyed, keyOf, strOf } from "./facts_common.ts";

function blockFact(role: string, block: unknown): FactItem {
  if (!isObj(block)) return fact(role, "text", contentText(block), block);
  switch (block.type) {
    case "text":
      return fact(role, "text", strOf(block.text) ?? "", block);
    case "thinking":
      return fact(role, "reasoning", strOf(block.thinking) ?? "", block);
    case "redacted_thinking":
      return fact(role, "reasoning", "[redacted thinking]", block);
    case "tool_use":
    case "server_tool_use":
      return fact(role, "tool_call", keyOf(block.input ?? {}), block, {
        ...(strOf(block.name) ? { name: strOf(block.name) } : {}),
        ...(strOf(block.id) ? { callId: strOf(block.id) } : {}),
      });
    case "tool_result":
      return fact("tool", "tool_result", contentText(block.content), block, {
        ...(strOf(block.tool_use_id) ? { callId: strOf(block.tool_use_id) } : {}),
      });
    case "image":
    case "document":
      return fact(role, "media", `[${block.type}]`, block);
    default:
      return fact(role, "other", keyOf(block), block);
  }
}

export function anthropicFacts(body: unknown, _entry: Entry): RequestFacts | undefined {
  if (!isObj(body) || !Array.isArray(body.messages)) return undefined;
  const items: FactItem[] = [];
  for (const m of body.messages) {
    if (!isObj(m)) {
      items.push(fact("?", "other", keyOf(m), m));
      continue;
    }
    const role = strOf(m.role) ?? "?";
    if (Array.isArray(m.content)) { for (const b of m.content) items.push(blockFact(role, b)); }
    else items.push(fact(role, "text", contentText(m.content), { type: "text", text: m.content }));
  }
  const facts: RequestFacts = {
    tools: (Array.isArray(body.tools) ? body.tools : []).map((t) =>
      keyed({ name: isObj(t) ? strOf(t.name) ?? strOf(t.type) ?? "?" : "?" }, t)
    ),
    items,
    order: ["tools", "system", "items"],
  };
  if (strOf(body.model)) facts.model = strOf(body.model);
  if (body.system !== undefined && body.system !== null) {
    facts.system = keyed({ text: contentText(body.system) }, body.system);
  }
  return facts;
}
