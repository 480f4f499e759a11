import type { Target } from "../lib/types.ts";

/**
 * pi (`@mariozechner/pi-coding-agent`: `pi -p` / `pi`). It installs undici's
 * EnvHttpProxyAgent for all its requests, so HTTPS_PROXY works on every Node version: forward
 * mode. Observed with 0.73.1 and `--provider openai`: `POST /v1/responses` (SSE) on
 * api.openai.com with its read/bash/edit/write tools.
 */
export const pi: Target = {
  name: "pi",
  description: "pi coding agent (pi -p / pi), OpenAI, Anthropic or Google provider",
  reportTitle: "pi Traffic Analysis Report",
  renderer: "openai_responses",
  proxies: [
    { name: "api", port: 8090, upstream: "https://api.openai.com/", purpose: "OpenAI API" },
    {
      name: "anthropic",
      port: 8091,
      upstream: "https://api.anthropic.com/",
      purpose: "Anthropic API",
    },
    {
      name: "google",
      port: 8092,
      upstream: "https://generativelanguage.googleapis.com/",
      purpose: "Gemini API",
    },
  ],
  env: {},
  manualSteps: [
    "Reverse mode only: point the provider at its proxy in ~/.pi/agent/models.json, e.g. " +
    '{"providers":{"openai":{"baseUrl":"{api.url}/v1"}}}; forward mode needs nothing',
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
