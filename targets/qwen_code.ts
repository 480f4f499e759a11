import type { Target } from "../lib/types.ts";

/**
 * Qwen Code (`@qwen-code/qwen-code`: `qwen -p` / `qwen`) with its OpenAI-compatible sign-in
 * (`"security":{"auth":{"selectedType":"openai"}}`, OPENAI_API_KEY, OPENAI_MODEL). It reads
 * OPENAI_BASE_URL: reverse mode by default. Forward mode works too (0.24.4 on Node.js 20, with
 * or without its `--proxy URL`) once OPENAI_BASE_URL names OpenAI's own
 * `https://api.openai.com/v1`: without it no request came within 60 s. Observed with 0.24.4:
 * `POST /v1/chat/completions` (SSE), read_file runs without approval.
 */
export const qwenCode: Target = {
  name: "qwen-code",
  description: "Qwen Code (qwen -p / qwen), OpenAI-compatible sign-in",
  reportTitle: "Qwen Code Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8095, upstream: "https://api.openai.com/", purpose: "Model API" },
  ],
  env: { "OPENAI_BASE_URL": "{api.url}/v1" },
  manualSteps: [
    'Choose the OpenAI-compatible sign-in in ~/.qwen/settings.json ({"security":{"auth":' +
    '{"selectedType":"openai"}}}) and set OPENAI_API_KEY and OPENAI_MODEL; Qwen OAuth ' +
    "(chat.qwen.ai) is captured with --mode forward",
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
};
