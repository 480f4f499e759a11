/**
 * Shared by the renderers' `genai` mappings (OpenTelemetry GenAI conventions): the provider
 * from the host, and part builders. (A session id in a header is the targets' knowledge: lib
 * reads it with the target's session headers.)
 */
import type { Entry, GenAiCall, GenAiMessage, GenAiPart, RenderedBody } from "../lib/types.ts";
import { isRecord, type JsonObject, str } from "../lib/json.ts";

/** `gen_ai.provider.name` of well-known API hosts (the conventions' values). */
const PROVIDERS: [RegExp, string][] = [
  [/(^|\.)openai\.azure\.com$/, "azure.ai.openai"],
  [/(^|\.)api\.openai\.com$/, "openai"],
  [/(^|\.)anthropic\.com$/, "anthropic"],
  [/^bedrock-runtime\./, "aws.bedrock"],
  [/aiplatform\.googleapis\.com$/, "gcp.vertex_ai"],
  [/googleapis\.com$/, "gcp.gemini"],
  [/(^|\.)deepseek\.com$/, "deepseek"],
  [/(^|\.)groq\.com$/, "groq"],
  [/(^|\.)mistral\.ai$/, "mistral_ai"],
  [/(^|\.)x\.ai$/, "x_ai"],
  [/(^|\.)perplexity\.ai$/, "perplexity"],
  [/(^|\.)cohere\.(com|ai)$/, "cohere"],
];

/** The provider of a request's host; `fallback` (the API's maker) for any other host. */
export function providerOf(url: string, fallback: string): string {
  let host = "";
  try {
    host = new URL(url).hostname;
  } catch {
    return fallback;
  }
  for (const [re, name] of PROVIDERS) if (re.test(host)) return name;
  return fallback;
}

export const text = (content: string): GenAiPart => ({ type: "text", content });

/** A tool call's arguments: the parsed JSON when the API sent JSON text, else as sent. */
export function toolArguments(args: unknown): unknown {
  if (typeof args !== "string") return args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

/** Appends parts to the last message when it has the same role, else adds a message. */
export function pushParts(
  messages: GenAiMessage[],
  role: GenAiMessage["role"],
  parts: GenAiPart[],
): void {
  if (parts.length === 0) return;
  const last = messages[messages.length - 1];
  if (last && last.role === role && last.finish_reason === undefined) last.parts.push(...parts);
  else messages.push({ role, parts });
}

/** The conventions' roles: a developer message is a system one; unknown roles are users. */
export function roleOf(role: unknown): GenAiMessage["role"] {
  switch (role) {
    case "system":
    case "developer":
      return "system";
    case "assistant":
    case "model":
      return "assistant";
    case "tool":
    case "function":
      return "tool";
    default:
      return "user";
  }
}

/** The reassembled response, when the renderer made one. */
export function finalOf(response: RenderedBody | undefined): JsonObject | undefined {
  return isRecord(response?.final) ? response.final : undefined;
}

/** `error.type` from an `{error: {type|code|status}}` body (or a stream's error event). */
export function bodyErrorType(entry: Entry): string | undefined {
  const body = entry.response?.body;
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  return str(body.error.type) ?? str(body.error.status) ??
    (body.error.code !== undefined && body.error.code !== null
      ? String(body.error.code)
      : undefined);
}

/** A `data:` URL as a blob part, any other URL as a uri part. */
export function imagePart(url: string, modality = "image"): GenAiPart {
  const m = /^data:([^;,]+)(?:;[^,]*)?,(.*)$/s.exec(url);
  if (m) return { type: "blob", modality, mime_type: m[1], content: m[2] };
  return { type: "uri", modality, uri: url };
}

/** A `genai` mapping of requests whose body is a JSON object; any other body maps to none. */
export function forObjectBody(
  map: (
    entry: Entry,
    body: JsonObject,
    response: RenderedBody | undefined,
    content: boolean,
  ) => GenAiCall | undefined,
): (entry: Entry, response: RenderedBody | undefined, content: boolean) => GenAiCall | undefined {
  return (entry, response, content) => {
    const body = entry.request.body;
    return isRecord(body) ? map(entry, body, response, content) : undefined;
  };
}

/**
 * The facts a chat API's call shares with the others: operation "chat", the provider (from the
 * URL, else `provider`), the body's `model`, `stream: true`, the error type; `own` adds the
 * API's own facts or replaces these.
 */
export function chatCall(
  entry: Entry,
  body: JsonObject,
  provider: string,
  own: Partial<GenAiCall> = {},
): GenAiCall {
  return {
    operation: "chat",
    provider: providerOf(entry.request.url, provider),
    requestModel: str(body.model),
    stream: body.stream === true,
    ...own,
    errorType: bodyErrorType(entry),
  };
}
