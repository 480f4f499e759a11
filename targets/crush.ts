import type { Target } from "../lib/types.ts";

/**
 * Crush (`@charmland/crush`: `crush run PROMPT` / `crush`), Charm's Go agent, with the
 * provider whose key it finds (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...). Go's HTTP client
 * follows HTTPS_PROXY and SSL_CERT_FILE: forward mode by default. Offline it also needs
 * CRUSH_DISABLE_PROVIDER_AUTO_UPDATE=1 (else it asks Catwalk, its provider catalogue, at start).
 * Not proven end to end: its npm package downloads the binary from GitHub at install time and
 * the Go module proxy refuses the module here (README, agents table).
 */
export const crush: Target = {
  name: "crush",
  description: "Crush (crush run / crush), OpenAI or Anthropic provider",
  reportTitle: "Crush Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    { name: "api", port: 8103, upstream: "https://api.openai.com/", purpose: "OpenAI API" },
    {
      name: "anthropic",
      port: 8104,
      upstream: "https://api.anthropic.com/",
      purpose: "Anthropic API",
    },
  ],
  env: {},
  manualSteps: [
    "Reverse mode only: point the provider at its proxy in crush.json, e.g. " +
    '{"providers":{"openai":{"base_url":"{api.url}/v1"}}}; forward mode needs nothing',
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
