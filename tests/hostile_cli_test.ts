/**
 * probe as a new user runs it (`deno task probe`, the compiled binary: the task's permissions,
 * not -A) given paths that lead into /proc and /dev and a program that is not mitmdump: one
 * line of probe's own naming the path and what to do, never Deno's permission advice.
 */
import assert from "node:assert/strict";
import { PERMISSIONS } from "./tools/compile.ts";
import { ROOT } from "./tools/paths.ts";

const SAMPLE = `${ROOT}/testdata/sample_traffic.jsonl`;

/** `probe ARGS` with the task's permissions; `stdin`: a file given as standard input. */
async function probe(args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, `${ROOT}/main.ts`, ...args],
    cwd: ROOT,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    await (await Deno.open(stdin)).readable.pipeTo(child.stdin);
  }
  const out = await child.output();
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr).trimEnd() };
}

const SYSTEM = "probe reads and writes no system path under /proc, /sys or /dev";

Deno.test("system paths and standard streams, as the task's permissions see them", async (t) => {
  await t.step("capture --output-dir under /proc", async () => {
    const r = await probe(["capture", "codex", "--output-dir", "/proc/probe-x"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `probe: error: cannot create output folder /proc/probe-x (${SYSTEM}): pick another --output-dir`,
    );
  });
  await t.step("analyze --output under /proc", async () => {
    const r = await probe(["analyze", "-i", SAMPLE, "-o", "/proc/probe-x.md"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `probe: error: cannot write report /proc/probe-x.md: ${SYSTEM}; name another path`,
    );
  });
  await t.step("analyze --input under /proc", async () => {
    const r = await probe(["analyze", "-i", "/proc/self/status", "-o", "-"]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `probe: error: /proc/self/status: cannot read: ${SYSTEM}`);
  });
  await t.step("/dev/stdin and /dev/stdout are standard input and output", async () => {
    const r = await probe(["analyze", "-i", "/dev/stdin", "-o", "/dev/stdout"], SAMPLE);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# Codex Traffic Analysis Report\n/);
    const har = await probe(["export", "-i", SAMPLE, "--har", "/dev/stdout"]);
    assert.equal(har.code, 0, har.stderr);
    assert.equal(JSON.parse(har.stdout).log.version, "1.2");
  });
});

Deno.test("--mitmdump naming another program says it is not mitmdump", async () => {
  const r = await probe(["capture", "codex", "--mitmdump", "/bin/true"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /^probe: error: \/bin\/true is not mitmproxy's mitmdump \(its --version names no mitmproxy version\): install mitmproxy/,
  );
});
