/**
 * Test setup (run by `deno task test` before the tests): makes sure the capture tests have
 * real tools.
 * - mitmdump: a pinned mitmproxy in .cache/venv (python3 -m venv + pip), unless
 *   $PROBE_MITMDUMP names one; Debian's /usr/bin/mitmdump is tested too when present.
 * - the agent CLIs from npm (tests/tools/paths.ts lists them) at pinned versions in .cache/npm,
 *   with one `npm install --prefix` for all of them; nothing runs when all are in place;
 * - aider from PyPI in .cache/venv-aider.
 * Prints one line saying what to do and exits non-zero when it cannot provide them.
 */
import { buildCollector } from "./build_collector.ts";
import {
  AGENT_CLIS,
  agentInstalled,
  AIDER_BIN,
  CACHE,
  findMitmdumps,
  NPM_PREFIX,
  npmInstallArgs,
  OTELCOL_BIN,
  OTELCOL_VERSION,
  PINNED_AIDER,
  PINNED_MITMPROXY,
  PINNED_MITMPROXY_12,
  VENV12_MITMDUMP,
  VENV_MITMDUMP,
} from "./paths.ts";
import { exists } from "../../lib/path_exists.ts";

/**
 * Whether a program of a venv runs: a venv is not relocatable (its scripts name the Python of
 * the folder it was made in), so one copied or made in another checkout exists but fails.
 */
async function runs(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("\n");
      console.error(`setup: ${cmd} ${args.join(" ")} failed:\n${err}`);
    }
    return out.success;
  } catch (err) {
    console.error(`setup: cannot run ${cmd}: ${(err as Error).message}`);
    return false;
  }
}

/** Runs the one `npm install`; returns why it failed (npm's first error line), or undefined. */
async function npmInstall(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("npm", {
      args: npmInstallArgs(),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    // npm's first error line says what went wrong; its last one only where the log is.
    const first = new TextDecoder().decode(out.stderr).split("\n").map((l) => l.trim())
      .find((l) => l && !/complete log of this run/.test(l));
    return `npm exited with ${out.code}${first ? `: ${first}` : ""}`;
  } catch (err) {
    return `cannot run npm: ${(err as Error).message}`;
  }
}

function fail(line: string): never {
  console.error(`setup: ${line}`);
  Deno.exit(1);
}

await Deno.mkdir(CACHE, { recursive: true });

// The Collector build takes a minute or more: it runs while the rest is installed.
const collectorBuild = (async () => {
  if (await exists(OTELCOL_BIN)) return undefined;
  console.error(
    `setup: building OpenTelemetry Collector ${OTELCOL_VERSION} (OTLP receiver, file ` +
      "exporter) with the official builder into .cache (about a minute) ...",
  );
  return await buildCollector();
})();

/** Installs mitmproxy `version` into a new venv `.cache/NAME` made by `python`. */
function installMitmproxy(python: string, name: string, version: string): Promise<boolean> {
  return installIntoVenv(python, name, "mitmproxy", version);
}

/** Installs PyPI's `pkg` at `version` into a new venv `.cache/NAME` made by `python`. */
async function installIntoVenv(
  python: string,
  name: string,
  pkg: string,
  version: string,
): Promise<boolean> {
  console.error(`setup: installing ${pkg} ${version} into .cache/${name} (${python}) ...`);
  // Made at its real path: a checkout whose .cache links to a shared one leaves scripts that
  // work after that checkout is gone.
  const venv = `${await Deno.realPath(CACHE)}/${name}`;
  const ok = await run(python, ["-m", "venv", "--clear", venv]) &&
    await run(`${venv}/bin/pip`, [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      `${pkg}==${version}`,
    ]);
  if (!ok) await Deno.remove(venv, { recursive: true }).catch(() => {});
  return ok;
}

if (!Deno.env.get("PROBE_MITMDUMP") && !(await runs(VENV_MITMDUMP))) {
  await installMitmproxy("python3", "venv", PINNED_MITMPROXY);
}
/** A Python 3.12 or newer (mitmproxy 12 needs it): on PATH, or one pyenv installed. */
async function python312(): Promise<string | undefined> {
  const candidates = ["python3.12", "python3.13"];
  const pyenv = `${Deno.env.get("PYENV_ROOT") ?? `${Deno.env.get("HOME")}/.pyenv`}/versions`;
  try {
    const versions: string[] = [];
    for await (const v of Deno.readDir(pyenv)) {
      if (/^3\.(1[2-9]|[2-9]\d)\.\d+$/.test(v.name)) versions.push(v.name);
    }
    // Oldest first, for the same choice on every machine.
    versions.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    candidates.push(...versions.map((v) => `${pyenv}/${v}/bin/python3`));
  } catch {
    // no pyenv
  }
  for (const cmd of candidates) {
    try {
      const out = await new Deno.Command(cmd, {
        args: ["-c", "import sys, venv; assert sys.version_info >= (3, 12)"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return cmd;
    } catch {
      // not there
    }
  }
  return undefined;
}

if (!Deno.env.get("PROBE_MITMDUMP") && !(await runs(VENV12_MITMDUMP))) {
  // Optional, like Debian's 8.1.1: without a Python 3.12 the other versions are tested.
  const python = await python312();
  if (python) {
    await installMitmproxy(python, "venv12", PINNED_MITMPROXY_12);
  } else {
    console.error(
      `setup: no Python 3.12 or newer, so mitmproxy ${PINNED_MITMPROXY_12} is not tested ` +
        "(install one to test it too)",
    );
  }
}
let mitmdumps;
try {
  mitmdumps = await findMitmdumps();
} catch {
  fail(
    `no mitmdump: install python3 with venv+pip (pip install mitmproxy==${PINNED_MITMPROXY} ` +
      `must work) or set PROBE_MITMDUMP=/path/to/mitmdump, then rerun deno task test`,
  );
}
console.error(
  `setup: mitmdump ${mitmdumps.map((m) => `${m.version} (${m.path})`).join(", ")}`,
);

const missing = [];
for (const cli of AGENT_CLIS) if (!(await agentInstalled(cli))) missing.push(cli);
if (missing.length > 0) {
  console.error(
    `setup: installing ${missing.map((c) => `${c.package}@${c.version}`).join(", ")} ` +
      "into .cache/npm ...",
  );
  // One install for all of them: npm resolves the set together and keeps the others.
  const why = await npmInstall();
  const still = [];
  for (const cli of AGENT_CLIS) if (!(await agentInstalled(cli))) still.push(cli);
  if (why || still.length > 0) {
    fail(
      `cannot install ${
        (still.length ? still : missing).map((c) => `${c.package}@${c.version}`).join(", ")
      } (${why ?? "npm did not install them"}): needs npm and the npm registry ` +
        `(npm ${npmInstallArgs().join(" ")}), then rerun deno task test`,
    );
  }
}
if (!(await runs(AIDER_BIN))) {
  // aider 0.86 supports Python 3.10 to 3.12: the machine's python3 (3.11 here).
  if (!(await installIntoVenv("python3", "venv-aider", "aider-chat", PINNED_AIDER))) {
    fail(
      `cannot install aider-chat==${PINNED_AIDER} into .cache/venv-aider: needs python3 ` +
        "(3.10-3.12) with venv+pip and PyPI, then rerun deno task test",
    );
  }
}
console.error(
  `setup: aider ${PINNED_AIDER} (${AIDER_BIN}); agent CLIs ${
    AGENT_CLIS.map((c) => `${c.bin} ${c.version}`).join(", ")
  } (${NPM_PREFIX})`,
);

const collectorProblem = await collectorBuild;
if (collectorProblem) fail(`cannot build the OpenTelemetry Collector: ${collectorProblem}`);
console.error(`setup: OpenTelemetry Collector ${OTELCOL_VERSION} (${OTELCOL_BIN})`);
