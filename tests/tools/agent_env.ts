/**
 * What the end-to-end tests of real agent CLIs share: a cleared environment with a throw-away
 * HOME (no real key or proxy of the caller gets through), Codex's variables and `codex exec`
 * arguments, and a `probe capture codex -- codex exec …` run with a time limit.
 */
import { codexCaptureArgs, type ProbeResult, runProbe } from "./capture_helpers.ts";

/** How long a real CLI's capture may take before probe is stopped (and the test fails). */
export const AGENT_TIMEOUT_MS = 180_000;

/** Deno's module cache, which probe's npm imports come from (the env is cleared). */
export const DENO_DIR: string = JSON.parse(
  new TextDecoder().decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
      .output()).stdout,
  ),
).denoDir;

/** A whole environment for `clearEnv`: PATH, the throw-away HOME and DENO_DIR, then `vars`. */
export function cleanEnv(home: string, vars: Record<string, string> = {}): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, DENO_DIR, ...vars };
}

/** The caller's settings (those set) by which Deno and Codex find the machine's CA bundle. */
export function tlsEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["DENO_TLS_CA_STORE", "DENO_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Codex's variables: `key` as its API key, its config in `home/codex`. */
export function codexEnv(home: string, key: string): Record<string, string> {
  return { OPENAI_API_KEY: key, CODEX_HOME: `${home}/codex` };
}

/**
 * Signs Codex in with an API key as `codex login --with-api-key` does (CODEX_HOME/auth.json):
 * its built-in provider takes the key from there, not from OPENAI_API_KEY.
 */
export async function codexApiKeyLogin(codexHome: string, key: string): Promise<void> {
  await Deno.mkdir(codexHome, { recursive: true });
  await Deno.writeTextFile(`${codexHome}/auth.json`, JSON.stringify({ OPENAI_API_KEY: key }), {
    mode: 0o600,
  });
}

/**
 * `exec` arguments for one non-interactive Codex turn on `prompt`: no git repository needed, no
 * session files, no analytics, update check or plugins. `options` go right after `exec`.
 */
export function codexExecArgs(prompt: string, options: string[] = []): string[] {
  return [
    "exec",
    ...options,
    "--skip-git-repo-check",
    "--ephemeral",
    "-c",
    "analytics.enabled=false",
    "-c",
    "check_for_update_on_startup=false",
    "--disable",
    "plugins",
    prompt,
  ];
}

/** What a `probe capture codex -- codex exec` run printed, and where it recorded. */
export interface CodexExecRun {
  result: ProbeResult;
  stdout: string;
  stderr: string;
  /** The output folder: traffic.jsonl and analysis_report.md. */
  out: string;
}

/**
 * Runs `probe capture codex --analyze -- CODEX exec … PROMPT` (the real Codex CLI) in a cleared
 * environment with `home` as HOME, `home/codex` as CODEX_HOME and `home/work` as the working
 * folder; both proxies forward to `upstream`, the capture goes to `home/capture`. Stopped after
 * `AGENT_TIMEOUT_MS`.
 */
export async function captureCodexExec(opts: {
  mitmdump: string;
  codex: string;
  upstream: string;
  home: string;
  key: string;
  prompt: string;
  /** `codex exec` options before the common ones. */
  execOptions?: string[];
}): Promise<CodexExecRun> {
  const { home, upstream } = opts;
  await codexApiKeyLogin(`${home}/codex`, opts.key);
  await Deno.mkdir(`${home}/work`);
  const out = `${home}/capture`;
  const result = await runProbe([
    "capture",
    ...codexCaptureArgs(opts.mitmdump, { api: upstream, chatgpt: upstream, outputDir: out }),
    "--analyze",
    "--",
    opts.codex,
    ...codexExecArgs(opts.prompt, opts.execOptions),
  ], {
    cwd: `${home}/work`,
    clearEnv: true,
    env: cleanEnv(home, { ...codexEnv(home, opts.key), ...tlsEnv() }),
    timeoutMs: AGENT_TIMEOUT_MS,
  });
  return { result, stdout: result.stdout.join("\n"), stderr: result.stderr.join("\n"), out };
}
