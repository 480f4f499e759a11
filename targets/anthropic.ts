import type { Target } from "../lib/types.ts";

/** Any app built on an Anthropic SDK (or another client that reads ANTHROPIC_BASE_URL). */
export const anthropic: Target = {
  name: "anthropic",
  description: "Any app using an Anthropic SDK (Messages API)",
  reportTitle: "Anthropic API Traffic Analysis Report",
  renderer: "anthropic_messages",
  proxies: [
    { name: "api", port: 8087, upstream: "https://api.anthropic.com/", purpose: "Model API" },
  ],
  env: {
    // The SDKs append /v1/messages: no /v1 here.
    "ANTHROPIC_BASE_URL": "{api.url}",
  },
  manualSteps: [],
  redactedHeaders: ["anthropic-organization-id"],
};
