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
  // Observed: `originator: codex_exec` / `codex_cli_rs`, user-agent `codex_exec/0.169.0 (…)`.
  recognizedBy: [
    { header: "originator", pattern: "^codex" },
    { header: "user-agent", pattern: "^codex_" },
  ],
  // Reverse by default: an API key works through the built-in provider's base URL. With a
  // ChatGPT login use --mode forward: its model calls go to chatgpt.com/backend-api/codex/.
  // Recent Codex (observed: 0.169.0) ignores OPENAI_BASE_URL for its built-in provider, so
  // all-in-one mode gives `codex` a provider of its own that points at the api proxy (API-key
  // mode: the key comes from OPENAI_API_KEY) and sends ChatGPT backend calls to the chatgpt one.
  commandArgs: {
    program: "codex",
    args: [
      "-c",
      "model_provider=probe",
      "-c",
      'model_providers.probe={name="OpenAI (via probe capture)",base_url="{api.url}/v1",' +
      'env_key="OPENAI_API_KEY",wire_api="responses"}',
      "-c",
      'chatgpt_base_url="{chatgpt.url}/backend-api/"',
    ],
  },
};
