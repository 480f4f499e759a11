import type { Renderer } from "../lib/types.ts";
import { anthropicMessages } from "./anthropic_messages.ts";
import { openaiChat } from "./openai_chat.ts";
import { openaiResponses } from "./openai_responses.ts";

/** Every built-in renderer by id. */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [openaiResponses, openaiChat, anthropicMessages].map((r) => [r.id, r]),
);
