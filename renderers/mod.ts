import type { Renderer } from "../lib/types.ts";
import { anthropicMessages } from "./anthropic_messages.ts";
import { gemini } from "./gemini.ts";
import { generic } from "./generic.ts";
import { openaiChat } from "./openai_chat.ts";
import { openaiResponses } from "./openai_responses.ts";

/** Every built-in renderer by id. */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [openaiResponses, openaiChat, anthropicMessages, gemini, generic].map((r) => [r.id, r]),
);
