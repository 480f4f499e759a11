import type { Target } from "../lib/types.ts";

/** OpenAI Codex CLI. Two proxies, as in the seed: the model API and the ChatGPT backend. */
export const codex: Target = {
  name: "codex",
  description: "OpenAI Codex CLI (codex exec / codex)",
  reportTitle: "Codex Traffic Analysis Report",
  renderer: "openai_responses",
  proxies: [
    {
      name: "api",
      port: 8080,
      upstream: "https://api.openai.com/",
      purpose: "Model API (API key mode)",
    },
    {
      name: "chatgpt",
      port: 8081,
      upstream: "https://chatgpt.com/",
      purpose: "Backend channels (ChatGPT login mode)",
    },
  ],
  env: {
    "OPENAI_BASE_URL": "{api.url}/v1",
  },
  manualSteps: [
    'Add to ~/.codex/config.toml: chatgpt_base_url = "{chatgpt.url}/backend-api/"',
  ],
  redactedHeaders: ["authorization", "cookie", "set-cookie", "openai-organization"],
};
