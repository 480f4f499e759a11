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

Deno.test("--output names a device, a folder or a path in no folder", async (t) => {
  await t.step("/dev/null takes the report (a CI gate with --strict)", async () => {
    for (const args of [["analyze", "-i", SAMPLE, "--strict"], ["export", "-i", SAMPLE, "--har"]]) {
      const r = await probe([...args, ...(args[0] === "analyze" ? ["-o"] : []), "/dev/null"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Wrote \/dev\/null \(3 /);
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "probe-output-" });
  try {
    await t.step("a folder", async () => {
      const r = await probe(["analyze", "-i", SAMPLE, "-o", dir]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `probe: error: cannot write report ${dir}: it is a folder; name a file (in it or elsewhere)`,
      );
    });
    await t.step("a file in a folder that does not exist", async () => {
      const r = await probe(["export", "-i", SAMPLE, "--har", `${dir}/no/x.har`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr,
        `probe: error: cannot write HAR ${dir}/no/x.har: there is no folder ${dir}/no; create it ` +
          "or name another path",
      );
    });
    assert.deepEqual([...Deno.readDirSync(dir)], [], "no partial file left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a capture given twice is read and named once", async () => {
  const r = await probe(["analyze", "-i", SAMPLE, "-i", SAMPLE, "-o", "-"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^- Source file: ${SAMPLE}$`, "m"));
  assert.match(r.stdout, /^- Total requests: 3$/m);
});

Deno.test("a JSON document over many lines is ten warnings and one line, not one a line", async () => {
  const input = `${ROOT}/testdata/har_not_har.json`; // 45 lines of pretty-printed JSON
  for (const args of [["analyze", "-o", "-"], ["export", "--har", "-"]]) {
    const r = await probe([...args, "-i", input]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split("\n");
    assert.equal(lines.filter((l) => / skipping malformed line /.test(l)).length, 10, r.stderr);
    assert.equal(
      lines[10],
      `warning: ${input}: more malformed lines skipped, not shown one by one`,
    );
    assert.match(lines[11], /^probe: error: /);
    assert.equal(lines.length, 12, r.stderr);
  }
});

Deno.test("an empty value (an unset shell variable) is a usage error naming the option", async () => {
  for (
    const [args, line] of [
      [["analyze", "-i", SAMPLE, "-o", ""], "analyze: --output needs a non-empty value"],
      [["analyze", "-i", SAMPLE, "--prices", ""], "analyze: --prices needs a non-empty value"],
      [["analyze", "-i", SAMPLE, "--target", ""], "analyze: --target needs a non-empty value"],
      [["analyze", "--input", ""], "analyze: --input needs a non-empty value"],
      [["analyze", ""], 'analyze: an argument is empty ("")'],
      [["export", "-i", SAMPLE, "--har", ""], "export: --har needs a non-empty value"],
      [["prices", "--prices", ""], "prices: --prices needs a non-empty value"],
    ] as [string[], string][]
  ) {
    const r = await probe(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr, `probe: error: ${line}`);
  }
});

Deno.test("one of a thing is said in the singular", async () => {
  const input = `${ROOT}/testdata/hostile_traffic.jsonl`; // 2 requests, 1 problem
  const r = await probe(["analyze", "-i", input, "--strict", "-o", "/dev/null"]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, "Wrote /dev/null (2 requests, 1 problem)\n");
  assert.equal(r.stderr, "probe: 1 problem found (--strict)");
});

Deno.test("every command words the same things the same way", async (t) => {
  await t.step("view: an empty argument or value", async () => {
    const r = await probe(["view", "", "--no-open"]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, 'probe: error: view: an argument is empty ("")');
    const port = await probe(["view", "--no-open", "--port", ""]);
    assert.equal(port.stderr, "probe: error: view: --port needs a non-empty value");
  });
  await t.step("a HAR's malformed entry is an entry in analyze as in export", async () => {
    const input = `${ROOT}/testdata/har_malformed.har`;
    const analyze = await probe(["analyze", "-i", input, "-o", "/dev/null"]);
    const exported = await probe(["export", "-i", input, "--har", "/dev/null"]);
    const warnings = (s: string) => s.split("\n").filter((l) => l.startsWith("warning:"));
    assert.ok(warnings(analyze.stderr).length > 0, analyze.stderr);
    assert.deepEqual(warnings(analyze.stderr), warnings(exported.stderr));
    assert.match(warnings(analyze.stderr)[0], /: skipping malformed entry \(entry 2: /);
  });
});
