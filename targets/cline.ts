import type { Target } from "../lib/types.ts";

/**
 * Cline's CLI (`cline`: `cline "prompt"` / `cline -i`) with a provider of its own choice
 * (`-P openai -k KEY -m MODEL`; its default, `cline`, needs a Cline account). Its runtime
 * follows HTTPS_PROXY: forward mode. Observed with 3.0.65: `POST /v1/chat/completions` (SSE)
 * on api.openai.com, tools auto-approved.
 */
export const cline: Target = {
  name: "cline",
  description: "Cline CLI (cline PROMPT / cline -i), OpenAI or Anthropic provider",
  reportTitle: "Cline Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8100, upstream: "https://api.openai.com/", purpose: "OpenAI API" },
    {
      name: "anthropic",
      port: 8101,
      upstream: "https://api.anthropic.com/",
      purpose: "Anthropic API",
    },
  ],
  env: {},
  manualSteps: [],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
