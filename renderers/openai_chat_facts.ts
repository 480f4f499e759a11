/** `requestFacts` of OpenAI Chat Completions: leading system messages, tools, messages. */
import type { Entry, FactItem, RequestFacts } from "../lib/types.ts";
import { contentText, fact, isObj, keyed, keyOf, strOf } from "./facts_common.ts";

function messageFacts(m: unknown): FactItem[] {
  if (!isObj(m)) return [fact("?", "other", keyOf(m), m)];
  const role = strOf(m.role) ?? "?";
  if (role === "tool" || role === "function") {
    return [
      fact("tool", "tool_result", contentText(m.content), m, {
        ...(strOf(m.tool_call_id) ? { callId: strOf(m.tool_call_id) } : {}),
        ...(strOf(m.name) ? { name: strOf(m.name) } : {}),
      }),
    ];
  }
  const out: FactItem[] = [];
  const reasoning = strOf(m.reasoning_content) ?? strOf(m.reasoning);
  if (reasoning) out.push(fact(role, "reasoning", reasoning, { role, reasoning }));
  const text = contentText(m.content);
  if (text !== "" || !Array.isArray(m.tool_calls)) {
    out.push(fact(role, "text", text, { role, content: m.content ?? null }));
  }
  for (const call of Array.isArray(m.tool_calls) ? m.tool_calls : []) {
    const fn = isObj(call) && isObj(call.function) ? call.function : {};
    out.push(
      fact(role, "tool_call", strOf(fn.arguments) ?? keyOf(fn.arguments ?? ""), call, {
        ...(strOf(fn.name) ? { name: strOf(fn.name) } : {}),
        ...(isObj(call) && strOf(call.id) ? { callId: strOf(call.id) } : {}),
      }),
    );
  }
  return out;
}

export function chatFacts(body: unknown, _entry: Entry): RequestFacts | undefined {
  if (!isObj(body) || !Array.isArray(body.messages)) return undefined;
  const messages = body.messages;
  // Leading system/developer messages are the system prompt; later ones are conversation.
  let lead = 0;
  while (
    lead < messages.length && isObj(messages[lead]) &&
    (messages[lead].role === "system" || messages[lead].role === "developer")
  ) lead++;
  const facts: RequestFacts = {
    tools: (Array.isArray(body.tools) ? body.tools : []).map((t) =>
      keyed({ name: isObj(t) && isObj(t.function) ? strOf(t.function.name) ?? "?" : "?" }, t)
    ),
    items: messages.slice(lead).flatMap(messageFacts),
    order: ["system", "tools", "items"],
  };
  if (strOf(body.model)) facts.model = strOf(body.model);
  if (lead > 0) {
    const system = messages.slice(0, lead);
    facts.system = keyed({
      text: system.map((m) => contentText((m as Record<string, unknown>).content)).join("\n\n"),
    }, system);
  }
  return facts;
}
