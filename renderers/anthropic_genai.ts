/**
 * The Anthropic Messages API as GenAI model calls (OpenTelemetry conventions): `system` is
 * the system instructions; content blocks become parts.
 */
import type { GenAiMessage, GenAiPart } from "../lib/types.ts";
import { arr, isRecord, type JsonObject, str } from "../lib/json.ts";
import { chatCall, finalOf, forObjectBody, pushParts, roleOf, text } from "./genai_common.ts";

/** A tool call block's id and name. */
const callee = (b: JsonObject) => ({ id: str(b.id), name: str(b.name) ?? "?" });

function blockParts(content: unknown): GenAiPart[] {
  if (typeof content === "string") return [text(content)];
  const parts: GenAiPart[] = [];
  for (const b of arr(content)) {
    if (!isRecord(b)) continue;
    switch (b.type) {
      case "text":
        parts.push(text(str(b.text) ?? ""));
        break;
      case "thinking":
        parts.push({ type: "reasoning", content: str(b.thinking) ?? "" });
        break;
      case "tool_use":
        parts.push({ type: "tool_call", ...callee(b), arguments: b.input });
        break;
      case "tool_result":
        parts.push({ type: "tool_call_response", id: str(b.tool_use_id), response: b.content });
        break;
      case "server_tool_use":
        parts.push({ type: "server_tool_call", ...callee(b), server_tool_call: b.input });
        break;
      case "image":
      case "document": {
        const src: JsonObject = isRecord(b.source) ? b.source : {};
        const modality = b.type === "image" ? "image" : "document";
        if (src.type === "base64" && typeof src.data === "string") {
          parts.push({ type: "blob", modality, mime_type: str(src.media_type), content: src.data });
        } else if (typeof src.url === "string") parts.push({ type: "uri", modality, uri: src.url });
        else if (typeof src.file_id === "string") {
          parts.push({ type: "file", modality, file_id: src.file_id });
        }
        break;
      }
      default:
        if (typeof b.type === "string" && b.type.endsWith("_tool_result")) {
          parts.push({
            type: "server_tool_call_response",
            id: str(b.tool_use_id),
            server_tool_call_response: b.content,
          });
        }
    }
  }
  return parts;
}

/** Claude Code puts its session id in metadata.user_id (a JSON text or `..._session_<id>`). */
function metadataSession(body: JsonObject): string | undefined {
  const user = isRecord(body.metadata) ? str(body.metadata.user_id) : undefined;
  if (!user) return undefined;
  try {
    const parsed = JSON.parse(user);
    if (isRecord(parsed) && typeof parsed.session_id === "string") return parsed.session_id;
  } catch {
    // not JSON
  }
  return /_session_([0-9a-f-]{8,})$/i.exec(user)?.[1];
}

export const anthropicGenai = forObjectBody((entry, body, response, content) => {
  const call = chatCall(entry, body, "anthropic", { conversationId: metadataSession(body) });
  const final = finalOf(response);
  const reason = str(final?.stop_reason);
  if (reason) call.finishReasons = [reason];
  if (!content) return call;
  if (body.system !== undefined) call.systemInstructions = blockParts(body.system);
  const input: GenAiMessage[] = [];
  for (const m of arr(body.messages)) {
    if (!isRecord(m)) continue;
    const parts = blockParts(m.content);
    // Tool results ride in user messages; the conventions give them the role "tool".
    const role = parts.length > 0 && parts.every((p) => p.type === "tool_call_response")
      ? "tool"
      : roleOf(m.role);
    pushParts(input, role, parts);
  }
  call.inputMessages = input;
  if (Array.isArray(body.tools)) call.toolDefinitions = body.tools;
  if (final) {
    const out: GenAiMessage = { role: "assistant", parts: blockParts(final.content) };
    if (reason) out.finish_reason = reason;
    call.outputMessages = [out];
  }
  return call;
});
