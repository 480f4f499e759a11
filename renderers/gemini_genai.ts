/**
 * The Google Gemini API (Developer API, Vertex AI, Code Assist wrapper) as GenAI model calls
 * (OpenTelemetry conventions): operation `generate_content`.
 */
import { urlPath } from "../lib/stats.ts";
import type { GenAiCall, GenAiMessage, GenAiPart } from "../lib/types.ts";
import { arr, isRecord, type JsonObject, str } from "../lib/json.ts";
import { bodyErrorType, finalOf, forObjectBody, providerOf, roleOf, text } from "./genai_common.ts";

function parts(content: unknown): GenAiPart[] {
  const out: GenAiPart[] = [];
  for (const p of arr(isRecord(content) ? content.parts : undefined)) {
    if (!isRecord(p)) continue;
    if (typeof p.text === "string") {
      out.push(p.thought === true ? { type: "reasoning", content: p.text } : text(p.text));
    } else if (isRecord(p.functionCall)) {
      out.push({
        type: "tool_call",
        id: str(p.functionCall.id),
        name: str(p.functionCall.name) ?? "?",
        arguments: p.functionCall.args,
      });
    } else if (isRecord(p.functionResponse)) {
      out.push({
        type: "tool_call_response",
        id: str(p.functionResponse.id),
        response: p.functionResponse.response,
      });
    } else if (isRecord(p.inlineData) && typeof p.inlineData.data === "string") {
      const mime = str(p.inlineData.mimeType);
      out.push({
        type: "blob",
        modality: mime?.split("/")[0] ?? "image",
        mime_type: mime,
        content: p.inlineData.data,
      });
    } else if (isRecord(p.fileData) && typeof p.fileData.fileUri === "string") {
      const mime = str(p.fileData.mimeType);
      out.push({ type: "uri", modality: mime?.split("/")[0] ?? "image", uri: p.fileData.fileUri });
    }
  }
  return out;
}

function message(content: unknown): GenAiMessage {
  const role = isRecord(content) ? content.role : undefined;
  const ps = parts(content);
  const allResponses = ps.length > 0 && ps.every((p) => p.type === "tool_call_response");
  return { role: allResponses ? "tool" : roleOf(role ?? "user"), parts: ps };
}

export const geminiGenai = forObjectBody((entry, outer, response, content) => {
  // Code Assist wraps the request: {model, project, user_prompt_id, request: {...}}.
  const body: JsonObject = isRecord(outer.request) ? outer.request : outer;
  const path = urlPath(entry.request.url);
  const call: GenAiCall = {
    operation: "generate_content",
    provider: providerOf(entry.request.url, "gcp.gemini"),
    requestModel: /models\/([^/:]+):/.exec(path)?.[1] ?? str(outer.model),
    stream: /:streamGenerateContent$/.test(path),
    conversationId: str(body.session_id),
    errorType: bodyErrorType(entry),
  };
  const final = finalOf(response);
  const candidates = arr(final?.candidates).filter(isRecord);
  const reasons = candidates.map((c) => str(c.finishReason)).filter((r): r is string => !!r);
  if (reasons.length) call.finishReasons = reasons;
  if (!content) return call;
  if (body.systemInstruction !== undefined) {
    call.systemInstructions = parts(body.systemInstruction);
  }
  call.inputMessages = arr(body.contents).map(message);
  const tools = arr(body.tools).flatMap((t) =>
    isRecord(t) && Array.isArray(t.functionDeclarations) ? t.functionDeclarations : [t]
  );
  if (tools.length) call.toolDefinitions = tools;
  if (final) {
    call.outputMessages = candidates.map((c) => {
      const m: GenAiMessage = { role: "assistant", parts: parts(c.content) };
      const reason = str(c.finishReason);
      if (reason) m.finish_reason = reason;
      return m;
    });
  }
  return call;
});
