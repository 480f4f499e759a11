import type { Target } from "../lib/types.ts";

/** Anthropic Claude Code (`claude -p` / `claude`): the Anthropic Messages API. */
export const claudeCode: Target = {
  name: "claude-code",
  description: "Anthropic Claude Code (claude -p / claude)",
  reportTitle: "Claude Code Traffic Analysis Report",
  renderer: "anthropic_messages",
  proxies: [
    {
      name: "api",
      port: 8082,
      upstream: "https://api.anthropic.com/",
      purpose: "Model API (API key or Claude login)",
    },
  ],
  env: {
    // The SDK appends /v1/messages itself: no /v1 here. Observed with 2.1.197: `HEAD /` first,
    // then `POST /v1/messages?beta=true` (SSE) with x-api-key or, after a Claude login,
    // `Authorization: Bearer`; both are redacted.
    "ANTHROPIC_BASE_URL": "{api.url}",
  },
  manualSteps: [],
  redactedHeaders: ["anthropic-organization-id"],
  // Observed with 2.1.197: user-agent `claude-cli/2.1.197 (external, sdk-cli)`.
  recognizedBy: [{ header: "user-agent", pattern: "^claude-cli/" }],
  sessionHeaders: ["x-claude-code-session-id"],
  // A base URL makes a subscription login treat the API as a third-party gateway (smaller
  // context window, no rate-limit data): forward mode leaves Claude Code as it is.
  defaultMode: "forward",
  // Observed with 2.1.332 on a subscription: GET /api/oauth/profile, then the model calls,
  // all on api.anthropic.com; with a key also /api/claude_code/{policy_limits,settings}.
  forwardHosts: [],
};
