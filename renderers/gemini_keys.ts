/**
 * Gemini request bodies in snake_case, read as their camelCase forms. The API accepts both
 * spellings (proto3 JSON) and SDKs send snake_case (`system_instruction`,
 * `function_declarations`, `parameters_json_schema`, `function_call`, `function_response`,
 * `thought_signature`, ...). Only the API's own field names are renamed: values the user or
 * model wrote (function args and responses, JSON schemas, labels) are copied as they are.
 */
import { isRecord, type JsonObject } from "../lib/json.ts";

/** The request's snake_case field names and their camelCase forms. */
const CAMEL: Record<string, string> = Object.fromEntries(
  [
    "system_instruction",
    "generation_config",
    "safety_settings",
    "tool_config",
    "cached_content",
    "function_declarations",
    "parameters_json_schema",
    "response_json_schema",
    "function_call",
    "function_response",
    "inline_data",
    "file_data",
    "mime_type",
    "file_uri",
    "display_name",
    "thought_signature",
    "executable_code",
    "code_execution_result",
    "code_execution",
    "google_search",
    "google_search_retrieval",
    "url_context",
    "thinking_config",
    "include_thoughts",
    "thinking_budget",
    "thinking_level",
    "max_output_tokens",
    "top_p",
    "top_k",
    "stop_sequences",
    "candidate_count",
    "presence_penalty",
    "frequency_penalty",
    "response_mime_type",
    "response_schema",
    "response_modalities",
    "response_logprobs",
    "function_calling_config",
    "allowed_function_names",
    "video_metadata",
    "will_continue",
    "partial_args",
    "media_resolution",
  ].map((k) => [k, k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())]),
);

/** Keys whose values are data (args, responses, schemas, labels): copied, never renamed. */
const DATA_KEYS: ReadonlySet<string> = new Set([
  "args",
  "response",
  "parameters",
  "parametersJsonSchema",
  "responseSchema",
  "responseJsonSchema",
  "partialArgs",
  "labels",
  "metadata",
]);

/**
 * How deep the API's own fields go (body → tools → functionDeclarations → ... is about 6
 * levels); below this everything is copied, so a hostile, deeply nested body cannot exhaust
 * the stack.
 */
const MAX_DEPTH = 12;

function camel(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    // The same array back when nothing in it changed: most bodies are camelCase already.
    let changed = false;
    const out = value.map((v) => {
      const c = camel(v, depth + 1);
      changed ||= c !== v;
      return c;
    });
    return changed ? out : value;
  }
  if (!isRecord(value)) return value;
  let renamed = false;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const key = CAMEL[k] ?? k;
    // A body that spells a field both ways keeps both: the camelCase one is not overwritten.
    if (key !== k && key in value) {
      out[k] = v;
      continue;
    }
    if (key !== k) renamed = true;
    const inner = DATA_KEYS.has(key) ? v : camel(v, depth + 1);
    if (inner !== v) renamed = true;
    out[key] = inner;
  }
  return renamed ? out : value;
}

/** A Gemini request body with its snake_case field names in camelCase (the same object if none). */
export function camelGeminiRequest(body: JsonObject): JsonObject {
  return camel(body) as JsonObject;
}
