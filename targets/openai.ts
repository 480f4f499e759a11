import type { Target } from "../lib/types.ts";

/**
 * Any app built on an OpenAI SDK (or another client that reads OPENAI_BASE_URL). Each exchange
 * is rendered by the format its path shows (`/v1/chat/completions`, `/v1/responses`); the
 * target's renderer, Chat Completions, is the fallback for other paths, because that is the
 * format the OpenAI-compatible servers and gateways such apps are pointed at share.
 */
export const openai: Target = {
  name: "openai",
  description: "Any app using an OpenAI SDK (Chat Completions or Responses)",
  reportTitle: "OpenAI API Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8086, upstream: "https://api.openai.com/", purpose: "Model API" },
  ],
  env: {
    "OPENAI_BASE_URL": "{api.url}/v1",
  },
  manualSteps: [],
  redactedHeaders: ["openai-organization", "openai-project"],
};
