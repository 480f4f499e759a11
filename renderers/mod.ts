import type { Renderer } from "../lib/types.ts";
import { anthropicGenai } from "./anthropic_genai.ts";
import { anthropicMessages } from "./anthropic_messages.ts";
import { gemini } from "./gemini.ts";
import { geminiGenai } from "./gemini_genai.ts";
import { generic } from "./generic.ts";
import { openaiChat } from "./openai_chat.ts";
import { chatGenai } from "./openai_chat_genai.ts";
import { openaiResponses } from "./openai_responses.ts";
import { responsesGenai } from "./openai_responses_genai.ts";

/** Every built-in renderer by id, each model API with its GenAI (OpenTelemetry) mapping. */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [
    { ...openaiResponses, genai: responsesGenai },
    { ...openaiChat, genai: chatGenai },
    { ...anthropicMessages, genai: anthropicGenai },
    { ...gemini, genai: geminiGenai },
    generic,
  ].map((r) => [r.id, r]),
);
