/**
 * Test setup (run by `deno task test` before the tests): makes sure the capture tests have
 * real tools.
 * - mitmdump: a pinned mitmproxy in .cache/venv (python3 -m venv + pip), unless
 *   $PROBE_MITMDUMP names one; Debian's /usr/bin/mitmdump is tested too when present.
 * - the Codex CLI: the pinned @openai/codex in .cache/npm (npm install --prefix).
 * Prints one line saying what to do and exits non-zero when it cannot provide them.
 */
import {
  CACHE,
  CODEX_BIN,
  findMitmdumps,
  NPM_PREFIX,
  PINNED_CODEX,
  PINNED_MITMPROXY,
  VENV_MITMDUMP,
} from "./paths.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
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

function fail(line: string): never {
  console.error(`setup: ${line}`);
  Deno.exit(1);
}

await Deno.mkdir(CACHE, { recursive: true });

if (!Deno.env.get("PROBE_MITMDUMP") && !(await exists(VENV_MITMDUMP))) {
  console.error(`setup: installing mitmproxy ${PINNED_MITMPROXY} into .cache/venv ...`);
  const ok = await run("python3", ["-m", "venv", `${CACHE}/venv`]) &&
    await run(`${CACHE}/venv/bin/pip`, [
      "install",
      "--quiet",
      "--disable-pip-version-check",
      `mitmproxy==${PINNED_MITMPROXY}`,
    ]);
  if (!ok) await Deno.remove(`${CACHE}/venv`, { recursive: true }).catch(() => {});
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

if (!(await exists(CODEX_BIN))) {
  console.error(`setup: installing @openai/codex@${PINNED_CODEX} into .cache/npm ...`);
  const ok = await run("npm", [
    "install",
    "--prefix",
    NPM_PREFIX,
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    `@openai/codex@${PINNED_CODEX}`,
  ]);
  if (!ok || !(await exists(CODEX_BIN))) {
    fail(
      `cannot install @openai/codex@${PINNED_CODEX}: needs npm and the npm registry ` +
        `(npm install --prefix .cache/npm @openai/codex@${PINNED_CODEX}), then rerun deno task test`,
    );
  }
}
console.error(`setup: codex ${PINNED_CODEX} (${CODEX_BIN})`);
