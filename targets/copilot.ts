import type { Target } from "../lib/types.ts";

/**
 * GitHub Copilot CLI (`@github/copilot`: `copilot -p` / `copilot`). It signs in with GitHub
 * (`copilot login`, or a token in COPILOT_GITHUB_TOKEN / GH_TOKEN) and talks to GitHub's
 * Copilot API; it has no base-URL setting for that, so forward mode only. Observed with
 * 1.0.102: `GET /copilot_internal/user`, `/copilot_internal/managed_settings` and
 * `/repos/github/copilot-cli/releases` on api.github.com, then `GET /models`, its MCP server
 * (`POST /mcp/readonly`) and `POST /chat/completions` (SSE, ~18 tools) on api.githubcopilot.com
 * (or the plan's host that `copilot_internal/user` names).
 */
export const copilot: Target = {
  name: "copilot",
  description: "GitHub Copilot CLI (copilot -p / copilot), GitHub sign-in",
  reportTitle: "GitHub Copilot CLI Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [
    {
      name: "api",
      port: 8098,
      upstream: "https://api.githubcopilot.com/",
      purpose: "Copilot model API",
    },
    { name: "github", port: 8099, upstream: "https://api.github.com/", purpose: "GitHub API" },
  ],
  env: {},
  manualSteps: ["Sign in first (copilot login); capture with --mode forward"],
  redactedHeaders: ["x-github-token", "copilot-integration-id"],
  forwardHosts: ["api.individual.githubcopilot.com", "api.business.githubcopilot.com"],
  defaultMode: "forward",
};
