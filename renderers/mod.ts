import type { Renderer } from "../lib/types.ts";
import { openaiResponses } from "./openai_responses.ts";

/** Every built-in renderer by id. */
export const builtinRenderers: ReadonlyMap<string, Renderer> = new Map(
  [openaiResponses].map((r) => [r.id, r]),
);
