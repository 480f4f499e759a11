/**
 * The OpenAI Responses API as GenAI model calls (OpenTelemetry conventions): the facts of a
 * request and its response, and with `content` its messages in the conventions' schema.
 */
import type { GenAiMessage, GenAiPart } from "../lib/types.ts";
import { arr, isRecord, type JsonObject, str } from "../lib/json.ts";
import {
  chatCall,
  finalOf,
  forObjectBody,
  imagePart,
  pushParts,
  roleOf,
  text,
  toolArguments,
} from "./genai_common.ts";

/** Parts of a message's `content`: a string, or input/output text, images and files. */
function contentParts(content: unknown): GenAiPart[] {
  if (typeof content === "string") return [text(content)];
  const parts: GenAiPart[] = [];
  for (const p of arr(content)) {
    if (!isRecord(p)) continue;
    const t = str(p.text) ?? str(p.refusal);
    if (t !== undefined) parts.push(text(t));
    else if (typeof p.image_url === "string") parts.push(imagePart(p.image_url));
    else if (typeof p.file_id === "string") {
      parts.push({ type: "file", modality: "image", file_id: p.file_id });
    } else if (typeof p.file_data === "string") {
      parts.push({ type: "blob", modality: "document", content: p.file_data });
    }
  }
  return parts;
}

function reasoningParts(item: JsonObject): GenAiPart[] {
  const texts = [...arr(item.summary), ...arr(item.content)]
    .map((s) => (isRecord(s) ? str(s.text) : undefined))
    .filter((t): t is string => t !== undefined);
  return texts.length ? [{ type: "reasoning", content: texts.join("\n") }] : [];
}

/** Input or output items as messages: tool calls join the assistant's turn. */
export function itemsToMessages(items: unknown[]): GenAiMessage[] {
  const messages: GenAiMessage[] = [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const type = str(item.type) ?? (item.role !== undefined ? "message" : "");
    if (type === "message") {
      pushParts(messages, roleOf(item.role), contentParts(item.content));
    } else if (type === "reasoning") {
      pushParts(messages, "assistant", reasoningParts(item));
    } else if (type === "function_call" || type === "custom_tool_call") {
      pushParts(messages, "assistant", [{
        type: "tool_call",
        id: str(item.call_id),
        name: str(item.name) ?? "?",
        arguments: toolArguments(item.arguments ?? item.input),
      }]);
    } else if (type === "function_call_output" || type === "custom_tool_call_output") {
      pushParts(messages, "tool", [{
        type: "tool_call_response",
        id: str(item.call_id),
        response: item.output,
      }]);
    } else if (type.endsWith("_call_output")) {
      pushParts(messages, "tool", [{
        type: "tool_call_response",
        id: str(item.call_id),
        response: item.output ?? item,
      }]);
    } else if (type.endsWith("_call")) {
      // Built-in tools (local_shell_call, web_search_call, ...): the item is the call.
      const { type: _t, id, call_id, ...rest } = item;
      pushParts(messages, "assistant", [{
        type: "tool_call",
        id: str(call_id) ?? str(id),
        name: type.slice(0, -"_call".length),
        arguments: rest,
      }]);
    }
  }
  return messages;
}

/** finish_reason for a Responses status: completed, or why it stopped early. */
function finishReason(resp: JsonObject): string | undefined {
  const status = str(resp.status);
  if (status === "incomplete" && isRecord(resp.incomplete_details)) {
    return str(resp.incomplete_details.reason) ?? "incomplete";
  }
  if (status === "completed") return "stop";
  return status;
}

export const responsesGenai = forObjectBody((entry, body, response, content) => {
  const call = chatCall(entry, body, "openai", {
    stream: typeof body.stream === "boolean" ? body.stream : entry.websocket !== undefined,
    conversationId: str(body.prompt_cache_key) ??
      (isRecord(body.conversation) ? str(body.conversation.id) : str(body.conversation)),
    previousResponseId: str(body.previous_response_id),
  });
  const final = finalOf(response);
  const reason = final ? finishReason(final) : undefined;
  if (reason) call.finishReasons = [reason];
  if (!content) return call;
  if (typeof body.instructions === "string") call.systemInstructions = [text(body.instructions)];
  call.inputMessages = typeof body.input === "string"
    ? [{ role: "user", parts: [text(body.input)] }]
    : itemsToMessages(arr(body.input));
  if (Array.isArray(body.tools)) call.toolDefinitions = body.tools;
  if (final) {
    call.outputMessages = itemsToMessages(arr(final.output)).map((m) =>
      reason ? { ...m, finish_reason: reason } : m
    );
  }
  return call;
});
