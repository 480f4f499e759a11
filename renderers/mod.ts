import type { Entry, Renderer, ResponseView } from "../lib/types.ts";
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
import { responsesFacts } from "./openai_responses_facts.ts";
import { responsesGenai, responsesGenaiTurns } from "./openai_responses_genai.ts";

/**
 * Every built-in renderer by id, each model API with its GenAI (OpenTelemetry) mapping and the
 * request facts the analysis model (lib/model) uses.
 */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [
    {
      ...openaiResponses,
      genai: responsesGenai,
      genaiTurns: (entry: Entry, view: ResponseView, content: boolean) =>
        responsesGenaiTurns(entry, view, content, openaiResponses.renderResponse),
      requestFacts: responsesFacts,
    },
    { ...openaiChat, genai: chatGenai, requestFacts: chatFacts },
    { ...anthropicMessages, genai: anthropicGenai, requestFacts: anthropicFacts },
    { ...gemini, genai: geminiGenai, requestFacts: geminiFacts },
    generic,
  ].map((r) => [r.id, r]),
);
