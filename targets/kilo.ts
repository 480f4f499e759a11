import type { Target } from "../lib/types.ts";
import { OPENCODE_CONFIG } from "./opencode.ts";

/**
 * Kilo Code's CLI (`@kilocode/cli`: `kilo run` / `kilo`). Its runtime (Bun) follows HTTPS_PROXY
 * and NODE_EXTRA_CA_CERTS: forward mode by default, with its built-in providers (observed with
 * 7.7.7 and `-m openai/gpt-4.1`: `POST /v1/responses` (SSE) on api.openai.com, the turn with
 * its tools, then a title request). Reverse mode adds the provider `probe` above
 * (`-m probe/gpt-4.1`: `POST /v1/chat/completions`). Its default provider, the Kilo gateway
 * (api.kilo.ai), needs a Kilo account and is not intercepted. `kilo run` needs `--auto` for a
 * tool call: without it the call waits for an approval `kilo run` cannot ask for.
 */
export const kilo: Target = {
  name: "kilo",
  description: "Kilo Code CLI (kilo run / kilo), OpenAI or OpenAI-compatible provider",
  reportTitle: "Kilo Code Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    {
      name: "api",
      port: 8102,
      upstream: "https://api.openai.com/",
      purpose: "Model API (Chat Completions)",
    },
  ],
  env: {
    // Kilo is a fork of opencode and reads the same schema.
    "KILO_CONFIG_CONTENT": JSON.stringify(OPENCODE_CONFIG),
  },
  manualSteps: [
    "Set OPENAI_API_KEY; forward mode: kilo run -m openai/MODEL --auto PROMPT; reverse mode: " +
    "kilo run -m probe/gpt-4.1 --auto PROMPT (for another model copy this target to a JSONC " +
    "file and change models/model)",
  ],
  redactedHeaders: ["openai-organization", "openai-project"],
  defaultMode: "forward",
};
