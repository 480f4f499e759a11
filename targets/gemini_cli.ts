import type { Target } from "../lib/types.ts";

/**
 * Google Gemini CLI (`gemini -p` / `gemini`). With a Gemini API key it calls the Developer API
 * (`/v1beta/models/M:generateContent` and `:streamGenerateContent?alt=sse`); signed in with
 * Google it calls Code Assist (`/v1internal:streamGenerateContent`, `:loadCodeAssist`, ...).
 * Both hosts can be moved by environment variables (read in 0.61.0's bundle:
 * `GOOGLE_GEMINI_BASE_URL`, and `CODE_ASSIST_ENDPOINT`, to which it appends `/v1internal`).
 */
export const geminiCli: Target = {
  name: "gemini-cli",
  description: "Google Gemini CLI (gemini -p / gemini)",
  reportTitle: "Gemini CLI Traffic Analysis Report",
  renderer: "gemini",
  proxies: [
    {
      name: "api",
      port: 8083,
      upstream: "https://generativelanguage.googleapis.com/",
      purpose: "Gemini API (API key mode)",
    },
    {
      name: "codeassist",
      port: 8084,
      upstream: "https://cloudcode-pa.googleapis.com/",
      purpose: "Code Assist (Google login mode)",
    },
  ],
  env: {
    "GOOGLE_GEMINI_BASE_URL": "{api.url}",
    "CODE_ASSIST_ENDPOINT": "{codeassist.url}",
  },
  // With GOOGLE_GEMINI_BASE_URL set and no sign-in chosen, 0.61.0 stops with "Invalid auth
  // method selected": the choice has to be in settings.json.
  manualSteps: [
    'Choose the sign-in in ~/.gemini/settings.json: {"security":{"auth":{"selectedType":' +
    '"gemini-api-key"}}} with GEMINI_API_KEY set (model calls go through :{api.port}), or ' +
    '"oauth-personal" after one `gemini` login without probe (Code Assist calls go through ' +
    ":{codeassist.port}; Google's OAuth endpoints are called directly, not captured)",
  ],
  redactedHeaders: ["x-goog-user-project", "x-gemini-api-privileged-user-id"],
  // Observed with 0.61.0: user-agent `GeminiCLI-tui/0.61.0/<model> (linux; x64; terminal)`.
  recognizedBy: [{ header: "user-agent", pattern: "^GeminiCLI" }],
  defaultMode: "forward",
  // Google login also refreshes its token at oauth2.googleapis.com (recorded, token redacted).
  forwardHosts: ["oauth2.googleapis.com"],
};
