import type { Target } from "../lib/types.ts";

/**
 * aider (`aider-chat` from PyPI: `aider --message` / `aider`), through litellm. Python's
 * httpx reads HTTPS_PROXY and SSL_CERT_FILE: forward mode. Observed with 0.86.2 and an OpenAI
 * model: `POST /v1/chat/completions` on api.openai.com. aider offers the model no tools (it
 * edits files from the answer's text).
 */
export const aider: Target = {
  name: "aider",
  description: "aider (aider --message / aider), OpenAI or Anthropic model",
  reportTitle: "aider Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8093, upstream: "https://api.openai.com/", purpose: "OpenAI API" },
    {
      name: "anthropic",
      port: 8094,
      upstream: "https://api.anthropic.com/",
      purpose: "Anthropic API",
    },
  ],
  env: {
    // Reverse mode: litellm's OpenAI base; --anthropic-api-base moves the other.
    "OPENAI_API_BASE": "{api.url}/v1",
  },
  manualSteps: [],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
