/**
 * The OpenAI Chat Completions API as GenAI model calls (OpenTelemetry conventions). System
 * messages stay in the input messages (the conventions' rule for instructions sent as chat
 * history).
 */
import type { GenAiMessage, GenAiPart } from "../lib/types.ts";
import { arr, isRecord, type JsonObject, str } from "../lib/json.ts";
import {
  chatCall,
  finalOf,
  forObjectBody,
  imagePart,
  roleOf,
  text,
  toolArguments,
} from "./genai_common.ts";

function contentParts(content: unknown): GenAiPart[] {
  if (typeof content === "string") return content ? [text(content)] : [];
  const parts: GenAiPart[] = [];
  for (const p of arr(content)) {
    if (typeof p === "string") parts.push(text(p));
    else if (!isRecord(p)) continue;
    else if (typeof p.text === "string") parts.push(text(p.text));
    else if (isRecord(p.image_url) && typeof p.image_url.url === "string") {
      parts.push(imagePart(p.image_url.url));
    } else if (isRecord(p.input_audio) && typeof p.input_audio.data === "string") {
      parts.push({ type: "blob", modality: "audio", content: p.input_audio.data });
    }
  }
  return parts;
}

function message(m: JsonObject): GenAiMessage {
  const role = roleOf(m.role);
  if (role === "tool") {
    return {
      role,
      parts: [{ type: "tool_call_response", id: str(m.tool_call_id), response: m.content }],
    };
  }
  const parts: GenAiPart[] = [];
  const reasoning = str(m.reasoning_content) ?? str(m.reasoning);
  if (reasoning) parts.push({ type: "reasoning", content: reasoning });
  parts.push(...contentParts(m.content));
  if (typeof m.refusal === "string") parts.push(text(m.refusal));
  for (const c of arr(m.tool_calls)) {
    if (!isRecord(c)) continue;
    const fn = isRecord(c.function) ? c.function : {};
    parts.push({
      type: "tool_call",
      id: str(c.id),
      name: str(fn.name) ?? "?",
      arguments: toolArguments(fn.arguments),
    });
  }
  const out: GenAiMessage = { role, parts };
  if (typeof m.name === "string") out.name = m.name;
  return out;
}

export const chatGenai = forObjectBody((entry, body, response, content) => {
  const call = chatCall(entry, body, "openai");
  const final = finalOf(response);
  const choices = arr(final?.choices).filter(isRecord);
  const reasons = choices.map((c) => str(c.finish_reason)).filter((r): r is string => !!r);
  if (reasons.length) call.finishReasons = reasons;
  if (!content) return call;
  call.inputMessages = arr(body.messages).filter(isRecord).map(message);
  if (Array.isArray(body.tools)) call.toolDefinitions = body.tools;
  if (final) {
    call.outputMessages = choices.map((c) => {
      const m = message(isRecord(c.message) ? c.message : {});
      const reason = str(c.finish_reason);
      return reason
        ? { ...m, role: "assistant", finish_reason: reason }
        : { ...m, role: "assistant" };
    });
  }
  return call;
});
