/**
 * Agents as people run them: signed in with their subscription, captured in forward mode
 * (probe's HTTPS proxy and CA, no base URL, no provider), each with a tool round trip against
 * the fake upstream that `--upstream` puts in place of the real hosts
 * (tests/tools/agent_runs.ts says what is checked). The logins are fake, valid for a year, so
 * no refresh call is made; the fake answers the account calls each CLI makes first.
 *
 * - Claude Code on a Claude subscription: `.credentials.json` (claudeAiOauth), model calls to
 *   api.anthropic.com/v1/messages with `Authorization: Bearer`.
 * - Codex with a ChatGPT login: `auth.json` with JWT tokens, workspace discovery, then model
 *   calls to chatgpt.com/backend-api/codex/responses (WebSocket first, then POST, zstd bodies).
 * - Gemini CLI with a Google login (oauth-personal): `oauth_creds.json`, token check at
 *   oauth2.googleapis.com, then Code Assist (cloudcode-pa.googleapis.com/v1internal:...).
 *
 * One mitmdump (the first found): the proxy's mechanics are tested on every version by
 * capture_forward_test.ts.
 */
import type { Agent, AgentRun } from "./tools/agent_runs.ts";
import { agentTest } from "./tools/agent_runs.ts";
import { codexExecArgs } from "./tools/agent_env.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const YEAR_MS = 365 * 24 * 3600 * 1000;

const CLAUDE_TOKEN = "sk-ant-oat01-FAKEprobeTESTsubscription0123456789abcdefghijklmnopqrstuv";
const CLAUDE_REFRESH = "sk-ant-ort01-FAKEprobeTESTrefresh0123456789abcdefghijkl";

const base64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

/** A JWT as ChatGPT's login issues it (unsigned: Codex reads its claims, never verifies). */
function chatgptJwt(extra: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    "https://api.openai.com/auth": {
      chatgpt_plan_type: "pro",
      chatgpt_account_id: "acct-fake-0001",
      chatgpt_user_id: "user-fake-0001",
      user_id: "user-fake-0001",
    },
    email: "probe@example.com",
    email_verified: true,
    iat: now,
    exp: now + YEAR_MS / 1000,
    iss: "https://auth.openai.com",
    sub: "probe-fake-sub",
    ...extra,
  };
  return `${base64url({ alg: "RS256", typ: "JWT" })}.${base64url(claims)}.RkFLRXNpZ25hdHVyZQ`;
}

const CODEX_ACCESS = chatgptJwt({ scp: ["openid", "profile", "email", "offline_access"] });
const CODEX_ID = chatgptJwt({ aud: ["app_probe_fake"] });
const CODEX_REFRESH = "rt_FAKEprobeTESTchatgptREFRESH0123456789";

const GOOGLE_TOKEN = "ya29.FAKEprobeTESTgoogleACCESS0123456789abcdefghij";
const GOOGLE_REFRESH = "1//FAKEprobeTESTgoogleREFRESH0123456789";

const AGENTS: Agent[] = [
  {
    label: "probe capture claude-code --mode forward -- claude, Claude subscription login",
    target: "claude-code",
    mode: "forward",
    bin: "claude",
    api: "anthropic",
    key: CLAUDE_TOKEN,
    secrets: [CLAUDE_REFRESH],
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    realHosts: ["api.anthropic.com"],
    tool: "Bash",
    env: (home) => ({ CLAUDE_CONFIG_DIR: `${home}/.claude`, DISABLE_AUTOUPDATER: "1" }),
    prepare: async (home) => {
      await Deno.mkdir(`${home}/.claude`);
      const oauth = {
        accessToken: CLAUDE_TOKEN,
        refreshToken: CLAUDE_REFRESH,
        expiresAt: Date.now() + YEAR_MS,
        scopes: ["user:inference", "user:profile"],
        subscriptionType: "max",
      };
      await Deno.writeTextFile(
        `${home}/.claude/.credentials.json`,
        JSON.stringify({ claudeAiOauth: oauth }),
        { mode: 0o600 },
      );
    },
    args: (prompt) => ["-p", prompt, "--allowedTools", "Bash(cat:*)"],
  },
  {
    label: "probe capture codex --mode forward -- codex exec, ChatGPT login",
    target: "codex",
    mode: "forward",
    bin: "codex",
    api: "responses",
    key: CODEX_ACCESS,
    secrets: [CODEX_ID, CODEX_REFRESH],
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    realHosts: ["chatgpt.com"],
    tool: "exec",
    env: (home) => ({ CODEX_HOME: `${home}/codex` }),
    prepare: async (home) => {
      await Deno.mkdir(`${home}/codex`);
      const auth = {
        OPENAI_API_KEY: null,
        tokens: {
          id_token: CODEX_ID,
          access_token: CODEX_ACCESS,
          refresh_token: CODEX_REFRESH,
          account_id: "acct-fake-0001",
        },
        last_refresh: new Date().toISOString(),
      };
      await Deno.writeTextFile(`${home}/codex/auth.json`, JSON.stringify(auth), { mode: 0o600 });
    },
    args: (prompt) => codexExecArgs(prompt),
    extraProxies: ["chatgpt"],
  },
  {
    label: "probe capture gemini-cli --mode forward -- gemini, Google login (Code Assist)",
    target: "gemini-cli",
    mode: "forward",
    bin: "gemini",
    api: "gemini",
    key: GOOGLE_TOKEN,
    secrets: [GOOGLE_REFRESH],
    keyHeader: ["authorization", (k) => `Bearer ${k}`],
    realHosts: ["cloudcode-pa.googleapis.com", "oauth2.googleapis.com"],
    tool: "read_file",
    env: () => ({ GEMINI_CLI_TRUST_WORKSPACE: "true" }),
    prepare: async (home) => {
      await Deno.mkdir(`${home}/.gemini`);
      await Deno.writeTextFile(
        `${home}/.gemini/settings.json`,
        JSON.stringify({
          security: { auth: { selectedType: "oauth-personal" } },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
        }),
      );
      await Deno.writeTextFile(
        `${home}/.gemini/oauth_creds.json`,
        JSON.stringify({
          access_token: GOOGLE_TOKEN,
          refresh_token: GOOGLE_REFRESH,
          scope: "https://www.googleapis.com/auth/cloud-platform openid",
          token_type: "Bearer",
          expiry_date: Date.now() + YEAR_MS,
        }),
        { mode: 0o600 },
      );
    },
    args: (prompt) => ["-p", prompt],
    extraProxies: ["codeassist"],
    hosts: ["oauth2.googleapis.com"],
  },
];

const runs: AgentRun[] = [];
for (const agent of AGENTS) agentTest(agent, MITMDUMP, runs);
