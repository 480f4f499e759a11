/**
 * Where the test tools live (installed by tests/tools/setup.ts) and which mitmdumps the
 * capture tests run against: every distinct one found, the pinned pip one always.
 */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const CACHE = `${ROOT}/.cache`;
export const VENV_MITMDUMP = `${CACHE}/venv/bin/mitmdump`;
/** The mitmproxy the setup installs into .cache/venv (what `pip install` gives Python 3.11). */
export const PINNED_MITMPROXY = "11.0.2";
/**
 * The newest line users run, 12.x, needs Python 3.12: the setup installs it into .cache/venv12
 * when a `python3.12` is there (pyenv has one on this project's machines), and says so if not.
 */
export const PINNED_MITMPROXY_12 = "12.3.1";
export const VENV12_MITMDUMP = `${CACHE}/venv12/bin/mitmdump`;
/** The Codex CLI version the end-to-end test drives. */
export const PINNED_CODEX = "0.171.0";
export const NPM_PREFIX = `${CACHE}/npm`;
export const CODEX_BIN = `${NPM_PREFIX}/node_modules/.bin/codex`;

/** An agent CLI from npm that the end-to-end tests drive, pinned to the version observed. */
export interface AgentCli {
  /** The npm package. */
  package: string;
  version: string;
  /** The program it installs in node_modules/.bin. */
  bin: string;
}

/** Every agent CLI the setup installs into .cache/npm (one `npm install` for all). */
export const AGENT_CLIS: readonly AgentCli[] = [
  { package: "@openai/codex", version: PINNED_CODEX, bin: "codex" },
  { package: "@anthropic-ai/claude-code", version: "2.1.332", bin: "claude" },
  { package: "@google/gemini-cli", version: "0.61.0", bin: "gemini" },
  { package: "opencode-ai", version: "1.18.33", bin: "opencode" },
  { package: "@github/copilot", version: "1.0.102", bin: "copilot" },
  { package: "@mariozechner/pi-coding-agent", version: "0.73.1", bin: "pi" },
  { package: "@qwen-code/qwen-code", version: "0.24.4", bin: "qwen" },
  { package: "cline", version: "3.0.65", bin: "cline" },
  // 7.8.1 is the newest @kilocode/cli served, but its Linux binary packages stop at 7.7.9:
  // 7.7.7 is the newest with both.
  { package: "@kilocode/cli", version: "7.7.7", bin: "kilo" },
  { package: "@continuedev/cli", version: "1.5.47", bin: "cn" },
];

/**
 * Crush (`@charmland/crush` 0.96.1, the newest served) is not installed: its npm package is a
 * wrapper whose postinstall downloads the Go binary from GitHub ("Installation failed: Request
 * failed: getaddrinfo ENOTFOUND github.com" here and on CI), no platform package of it is served
 * (`@charmland/crush-linux-x64`: 404), and the Go module proxy answers 403 Forbidden for
 * github.com/charmbracelet/crush (its version list, @latest, v0.95.0, v0.96.1; with
 * GOTOOLCHAIN=go1.27.3 too). Its target exists; capture_more_agents_test.ts tests its part.
 */
export const CRUSH_NOT_INSTALLABLE = "@charmland/crush@0.96.1";

/** aider from PyPI, installed into its own venv (.cache/venv-aider) by the setup. */
export const PINNED_AIDER = "0.86.2";
export const AIDER_BIN = `${CACHE}/venv-aider/bin/aider`;

/** The `npm install --prefix .cache/npm ...` command line that installs them all. */
export function npmInstallArgs(): string[] {
  return [
    "install",
    "--prefix",
    NPM_PREFIX,
    "--save-exact",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...AGENT_CLIS.map((c) => `${c.package}@${c.version}`),
  ];
}
/** Debian's package (8.1.1), tested as well when present. */
const SYSTEM_MITMDUMP = "/usr/bin/mitmdump";

export interface Mitmdump {
  path: string;
  version: string;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

async function versionOf(path: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(path, {
      args: ["--version"],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const m = /Mitmproxy:\s*(\S+)/.exec(new TextDecoder().decode(out.stdout));
    return out.success && m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/**
 * Every usable mitmdump: $PROBE_MITMDUMP, the .cache venvs (11.x, 12.x), `mitmdump` on PATH,
 * Debian's. Deduplicated by real path and version. Throws (never skips) when there is none.
 */
export async function findMitmdumps(): Promise<Mitmdump[]> {
  const candidates = [
    Deno.env.get("PROBE_MITMDUMP"),
    VENV_MITMDUMP,
    VENV12_MITMDUMP,
    await onPath("mitmdump"),
    SYSTEM_MITMDUMP,
  ].filter((p): p is string => !!p);
  const seen = new Set<string>();
  const found: Mitmdump[] = [];
  for (const path of candidates) {
    if (!(await isFile(path))) continue;
    const real = await Deno.realPath(path);
    if (seen.has(real)) continue;
    seen.add(real);
    const version = await versionOf(path);
    if (version && !found.some((m) => m.version === version)) found.push({ path, version });
  }
  if (found.length === 0) {
    throw new Error(
      "no mitmdump found: run `deno run -A tests/tools/setup.ts` (or set PROBE_MITMDUMP)",
    );
  }
  return found;
}

/**
 * Whether the pinned version of a CLI is installed: its program exists and its package.json
 * has the pinned version.
 */
export async function agentInstalled(cli: AgentCli): Promise<boolean> {
  if (!(await isFile(`${NPM_PREFIX}/node_modules/.bin/${cli.bin}`))) return false;
  try {
    const pkg = JSON.parse(
      await Deno.readTextFile(`${NPM_PREFIX}/node_modules/${cli.package}/package.json`),
    );
    return pkg.version === cli.version;
  } catch {
    return false;
  }
}

/**
 * The path of an agent CLI's program (by its bin name). Throws, with the setup command, when
 * the pinned version is not installed: the tests that need it fail, they are never skipped.
 */
export async function agentBin(bin: string): Promise<string> {
  if (bin === "aider") {
    if (await isFile(AIDER_BIN)) return AIDER_BIN;
    throw new Error(
      `aider-chat ${PINNED_AIDER} is not installed in .cache/venv-aider: run ` +
        "deno run -A tests/tools/setup.ts (or deno task test)",
    );
  }
  const cli = AGENT_CLIS.find((c) => c.bin === bin);
  if (!cli) throw new Error(`no pinned agent CLI named ${bin}`);
  if (!(await agentInstalled(cli))) {
    throw new Error(
      `${cli.package}@${cli.version} is not installed in ${NPM_PREFIX}: run ` +
        "deno run -A tests/tools/setup.ts (or deno task test)",
    );
  }
  return `${NPM_PREFIX}/node_modules/.bin/${cli.bin}`;
}

export async function codexBin(): Promise<string> {
  if (!(await isFile(CODEX_BIN))) {
    throw new Error(
      `Codex CLI not installed at ${CODEX_BIN}: run deno run -A tests/tools/setup.ts`,
    );
  }
  return CODEX_BIN;
}

/**
 * The OpenTelemetry Collector the OTLP tests export to: built by the setup with the Collector's
 * official builder (OTLP receiver + file exporter, every component on this one release).
 */
export const OTELCOL_VERSION = "0.161.0";
export const OTELCOL_BIN = `${CACHE}/otelcol-${OTELCOL_VERSION}/otelcol-probe`;

/** The Python a mitmdump script runs on (its `#!` line), to run addon unit tests with. */
export async function pythonOf(mitmdump: string): Promise<string> {
  const first = (await Deno.readTextFile(mitmdump)).split("\n", 1)[0];
  const m = /^#!\s*(\S+)/.exec(first);
  if (!m) throw new Error(`${mitmdump} has no #! line naming its Python`);
  return m[1];
}
