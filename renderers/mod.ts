import type { Renderer } from "../lib/types.ts";
import { anthropicFacts } from "./anthropic_facts.ts";
import { anthropicGenai } from "./anthropic_genai.ts";
import { anthropicMessages } from "./anthropic_messages.ts";
import { gemini } from "./gemini.ts";
import { geminiFacts } from "./gemini_facts.ts";
import { geminiGenai } from "./gemini_genai.ts";
import { generic } from "./generic.ts";
import { openaiChat } from "./openai_chat.ts";
import { chatFacts } from "./openai_chat_facts.ts";
import { chatGenai } from "./openai_chat_genai.ts";
import { openaiResponses } from "./openai_responses.ts";
import { responsesGenai } from "./openai_responses_genai.ts";

/**
 * Every built-in renderer by id, each model API with its GenAI (OpenTelemetry) mapping and the
 * request facts the analysis model (lib/model) uses.
 */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [
    { ...openaiResponses, genai: responsesGenai },
    { ...openaiChat, genai: chatGenai, requestFacts: chatFacts },
    { ...anthropicMessages, genai: anthropicGenai, requestFacts: anthropicFacts },
    { ...gemini, genai: geminiGenai, requestFacts: geminiFacts },
    generic,
  ].map((r) => [r.id, r]),
);
