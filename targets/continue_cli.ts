import type { Target } from "../lib/types.ts";

/**
 * Continue's CLI (`@continuedev/cli`: `cn -p` / `cn`) with a model from its config.yaml
 * (`--config FILE`; `provider: openai` here). It follows HTTPS_PROXY itself: forward mode.
 * Observed with 1.5.47: `POST /v1/chat/completions` (SSE) on api.openai.com.
 */
export const continueCli: Target = {
  name: "continue",
  description: "Continue CLI (cn -p / cn), a model from its config.yaml",
  reportTitle: "Continue CLI Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8096, upstream: "https://api.openai.com/", purpose: "OpenAI API" },
    {
      name: "anthropic",
      port: 8097,
      upstream: "https://api.anthropic.com/",
      purpose: "Anthropic API",
    },
  ],
  env: {},
  manualSteps: [
    "Reverse mode only: set apiBase: {api.url}/v1 on the model in config.yaml; forward mode " +
    "needs nothing (signed in to the Continue hub, its models go through api.continue.dev, " +
    "which this target does not intercept)",
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
