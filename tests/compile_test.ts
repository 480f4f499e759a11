/**
 * What `deno compile` needs: (a) probe runs without reading its source tree (a compiled binary
 * has no source tree), shown by running main.ts from another directory with file access
 * limited to a temporary directory; (b) `deno task compile` either builds a working binary
 * (online) or stops at once with one line saying the runtime cannot be downloaded (offline).
 */
import assert from "node:assert/strict";
import { VERSION } from "../lib/version.ts";
import { PERMISSIONS, TARGETS } from "./tools/compile.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const MAIN = `${ROOT}/main.ts`;
const SAMPLE = `${ROOT}/testdata/sample_traffic.jsonl`;
const dec = new TextDecoder();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) } as Run;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-compile-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The binary's permissions, with file access narrowed to `dir`. */
function sandboxed(dir: string): string[] {
  return PERMISSIONS.map((p) =>
    p === "--allow-read"
      ? `--allow-read=${dir}`
      : p === "--allow-write"
      ? `--allow-write=${dir}`
      : p
  );
}

/** Checks a probe command line (`deno run … main.ts` or a binary) inside `dir`. */
async function checkProbe(
  t: Deno.TestContext,
  probe: (args: string[]) => Promise<Run>,
  dir: string,
): Promise<void> {
  await Deno.copyFile(SAMPLE, `${dir}/traffic.jsonl`);

  await t.step("--version", async () => {
    const r = await probe(["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `probe ${VERSION}\n`);
  });

  await t.step("analyze a capture in the working directory", async () => {
    const r = await probe([
      "analyze",
      "--target",
      "codex",
      "--input",
      "traffic.jsonl",
      "--output",
      "report.md",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Wrote report\.md \(3 requests\b/);
    const report = await Deno.readTextFile(`${dir}/report.md`);
    assert.match(report, /^# Codex Traffic Analysis Report\n/);
    assert.match(report, /^- Total requests: 3$/m);
  });

  await t.step("targets, and capture's help (a lazily loaded module with the addon)", async () => {
    const targets = await probe(["targets"]);
    assert.equal(targets.code, 0, targets.stderr);
    assert.match(targets.stdout, /^codex /m);
    const capture = await probe(["capture", "--help"]);
    assert.equal(capture.code, 0, capture.stderr);
    assert.match(capture.stdout, /probe capture <target>/);
  });
}

Deno.test("probe runs without reading its source tree", async (t) => {
  await withTempDir(async (dir) => {
    const probe = (args: string[]) =>
      run(Deno.execPath(), ["run", ...sandboxed(dir), MAIN, ...args], dir, { TMPDIR: dir });

    await t.step("the sandbox really keeps the repository out", async () => {
      const r = await probe(["analyze", "--target", "codex", "--input", SAMPLE, "--output", "x"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^probe: error: .*Requires read access to/);
    });

    await checkProbe(t, probe, dir);
  });
});

Deno.test("deno task compile builds, or fails fast offline with one line", async (t) => {
  const host = TARGETS.includes(Deno.build.target) ? Deno.build.target : TARGETS[0];
  await withTempDir(async (dir) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "compile", "--target", host, "--out-dir", `${dir}/dist`],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      // compile.ts bounds the download itself; this only keeps a broken build from hanging.
      signal: AbortSignal.timeout(540_000),
    }).output();
    // `deno task` announces the task on stderr; the rest is compile.ts's.
    const lines = dec.decode(out.stderr).trimEnd().split("\n")
      .filter((l) => !l.startsWith("Task compile "));

    if (out.code === 0) {
      const binary = `${dir}/dist/probe-${host}`;
      await t.step("online: the binary is built", async () => {
        assert.match(lines.at(-1)!, new RegExp(`^compile: .*/probe-${host} \\(\\d+\\.\\d MiB\\)$`));
        assert.ok((await Deno.stat(binary)).isFile);
      });
      if (host === Deno.build.target) {
        const work = `${dir}/work`;
        await Deno.mkdir(work);
        await checkProbe(t, (args) => run(binary, args, work), work);
      }
    } else {
      await t.step("offline: exit 1 and one line naming the target and the reason", () => {
        assert.equal(out.code, 1, lines.join("\n"));
        assert.equal(lines.length, 1, lines.join("\n"));
        assert.match(
          lines[0],
          new RegExp(
            `^compile: cannot download the Deno runtime for ${host} \\(offline\\?\\): \\S`,
          ),
        );
      });
    }
  });
});
