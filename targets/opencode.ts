import type { Target } from "../lib/types.ts";

/**
 * The opencode configuration laid over the user's (OPENCODE_CONFIG_CONTENT; Kilo, a fork of
 * opencode, reads it too): a provider `probe` speaking the OpenAI-compatible Chat Completions
 * API through the api proxy, made the default model. The key comes from OPENAI_API_KEY
 * (opencode's `{env:NAME}` substitution).
 */
export const OPENCODE_CONFIG = {
  provider: {
    probe: {
      name: "OpenAI-compatible (via probe capture)",
      npm: "@ai-sdk/openai-compatible",
      options: { baseURL: "{api.url}/v1", apiKey: "{env:OPENAI_API_KEY}" },
      models: { "gpt-4.1": { name: "gpt-4.1", tool_call: true } },
    },
  },
  model: "probe/gpt-4.1",
};

/** opencode (`opencode run` / `opencode`) with an OpenAI-compatible provider. */
export const opencode: Target = {
  name: "opencode",
  description: "opencode (opencode run / opencode), OpenAI-compatible provider",
  reportTitle: "opencode Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    {
      name: "api",
      port: 8085,
      upstream: "https://api.openai.com/",
      purpose: "Model API (Chat Completions)",
    },
  ],
  env: {
    "OPENCODE_CONFIG_CONTENT": JSON.stringify(OPENCODE_CONFIG),
  },
  manualSteps: [
    "Set OPENAI_API_KEY; the model is probe/gpt-4.1 (for another model or server copy " +
    "this target to a JSONC file, change models/model and use --upstream api=URL)",
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
  // Observed with 1.18.33: user-agent `opencode/1.18.33 ai-sdk/provider-utils/… runtime/bun/…`.
  recognizedBy: [{ header: "user-agent", pattern: "^opencode/" }],
};
