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
    "Sign in as usual first (`codex login --with-api-key`): the built-in provider keeps its own " +
    "auth; with a ChatGPT login capture with --mode forward instead",
    "Without probe running the command: add to ~/.codex/config.toml openai_base_url = " +
    '"{api.url}/v1" and chatgpt_base_url = "{chatgpt.url}/backend-api/"',
  ],
  redactedHeaders: ["authorization", "cookie", "set-cookie", "openai-organization"],
  // Observed: `originator: codex_exec` / `codex_cli_rs`, user-agent `codex_exec/0.169.0 (…)`.
  recognizedBy: [
    { header: "originator", pattern: "^codex" },
    { header: "user-agent", pattern: "^codex_" },
  ],
  // Reverse by default: an API key works through the built-in provider's base URL. With a
  // ChatGPT login use --mode forward: its model calls go to chatgpt.com/backend-api/codex/.
  // Codex ignores OPENAI_BASE_URL for its built-in provider; the config key openai_base_url
  // (0.171.0 has it) moves that provider's base, so transport (WebSocket first, then POST) and
  // auth stay Codex's own. The key comes from OPENAI_API_KEY or `codex login --with-api-key`.
  commandArgs: {
    program: "codex",
    args: [
      "-c",
      'openai_base_url="{api.url}/v1"',
      "-c",
      'chatgpt_base_url="{chatgpt.url}/backend-api/"',
    ],
  },
};
