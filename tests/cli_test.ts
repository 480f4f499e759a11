/** The command line as a user meets it: real `probe` processes, their output and exit codes. */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;
const VERSION = JSON.parse(
  await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
).version as string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function probe(args: string[], cwd?: string): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** One line on stderr, starting `probe: error:`. */
function assertOneLineError(run: Run, code: number, pattern: RegExp): void {
  assert.equal(run.code, code, run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^probe: error: /);
  assert.match(lines[0], pattern);
}

async function tempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-cli-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("probe CLI basics", async (t) => {
  await t.step("--version prints the version from deno.json", async () => {
    const run = await probe(["--version"]);
    assert.equal(run.code, 0);
    assert.equal(run.stdout, `probe ${VERSION}\n`);
  });
  await t.step("--help on each command exits 0", async () => {
    for (const args of [["--help"], ["analyze", "--help"], ["targets", "--help"]]) {
      const run = await probe(args);
      assert.equal(run.code, 0, args.join(" "));
      assert.match(run.stdout, /Usage/);
    }
  });
  await t.step("no command prints usage and exits 2", async () => {
    const run = await probe([]);
    assert.equal(run.code, 2);
    assert.match(run.stdout, /Usage/);
  });
  await t.step("usage errors exit 2 with one line", async () => {
    assertOneLineError(await probe(["frobnicate"]), 2, /unknown command "frobnicate"/);
    assertOneLineError(await probe(["analyze", "--target", "codex"]), 2, /--input FILE/);
    assertOneLineError(
      await probe(["analyze", "--target", "nope", "--input", SAMPLE]),
      2,
      /unknown target "nope"; known targets: codex/,
    );
    assertOneLineError(await probe(["analyze", "--bogus"]), 2, /bogus/);
  });
  await t.step("targets lists codex; targets codex shows its proxies", async () => {
    const list = await probe(["targets"]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /^codex\s+OpenAI Codex CLI/m);
    const one = await probe(["targets", "codex"]);
    assert.equal(one.code, 0);
    assert.match(one.stdout, /api\s+:8080 -> https:\/\/api\.openai\.com\//);
    assert.match(one.stdout, /chatgpt\s+:8081 -> https:\/\/chatgpt\.com\//);
  });
});

Deno.test("probe analyze", async (t) => {
  await t.step("writes analysis_report.md beside the input by default", async () => {
    await tempDir(async (dir) => {
      await Deno.copyFile(SAMPLE, `${dir}/traffic.jsonl`);
      const run = await probe(["analyze", "--target", "codex", "--input", "traffic.jsonl"], dir);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "Wrote analysis_report.md (3 requests, 0 problems)\n");
      const report = await Deno.readTextFile(`${dir}/analysis_report.md`);
      assert.match(report, /^- Total requests: 3$/m);
      // Nothing else is left behind (no partial or temp files).
      const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      assert.deepEqual(names, ["analysis_report.md", "traffic.jsonl"]);
    });
  });
  await t.step("--output - writes the report to stdout only", async () => {
    const run = await probe(["analyze", "-t", "codex", "-i", SAMPLE, "-o", "-"]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# Codex Traffic Analysis Report\n/);
    assert.match(run.stdout, /^- Capture duration: 9\.7s$/m);
    assert.equal(run.stderr, "");
  });
  await t.step("malformed lines warn with FILE:LINE and the rest is analyzed", async () => {
    await tempDir(async (dir) => {
      const lines = (await Deno.readTextFile(SAMPLE)).trimEnd().split("\n");
      const input = `${dir}/t.jsonl`;
      await Deno.writeTextFile(
        input,
        [lines[0], "{broken", '{"timestamp": 1}', lines[1], lines[2].slice(0, 100)].join("\n"),
      );
      const run = await probe(["analyze", "-t", "codex", "-i", input, "-o", `${dir}/r.md`]);
      assert.equal(run.code, 0, run.stderr);
      const warnings = run.stderr.trimEnd().split("\n");
      assert.equal(warnings.length, 3, run.stderr);
      assert.match(
        warnings[0],
        new RegExp(`^warning: ${input}:2: skipping malformed line \\(.+\\)$`),
      );
      assert.equal(warnings[1], `warning: ${input}:3: skipping malformed line (missing request)`);
      assert.match(warnings[2], new RegExp(`^warning: ${input}:5: skipping malformed line`));
      const report = await Deno.readTextFile(`${dir}/r.md`);
      assert.match(report, /^- Total requests: 2$/m);
    });
  });
  await t.step("bad inputs: one line, exit 1, no report written", async () => {
    await tempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/empty.jsonl`, "");
      await Deno.writeFile(`${dir}/junk.bin`, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
      await Deno.mkdir(`${dir}/folder`);
      const cases: [string, RegExp][] = [
        [`${dir}/missing.jsonl`, /missing\.jsonl: no such file/],
        // A folder is read for the captures in it (many_inputs_test.ts): this one has none.
        [`${dir}/folder`, /folder: no capture file in this folder/],
        [`${dir}/empty.jsonl`, /empty\.jsonl: empty file/],
        [`${dir}/junk.bin`, /junk\.bin: binary data/],
      ];
      for (const [input, pattern] of cases) {
        const run = await probe(["analyze", "-t", "codex", "-i", input, "-o", `${dir}/r.md`]);
        assertOneLineError(run, 1, pattern);
        await assert.rejects(Deno.stat(`${dir}/r.md`), Deno.errors.NotFound);
      }
    });
  });
  await t.step("a failed analysis leaves an earlier report untouched", async () => {
    await tempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/r.md`, "earlier report");
      await Deno.writeTextFile(`${dir}/bad.jsonl`, "nope\n");
      const run = await probe([
        "analyze",
        "-t",
        "codex",
        "-i",
        `${dir}/bad.jsonl`,
        "-o",
        `${dir}/r.md`,
      ]);
      assert.equal(run.code, 1);
      assert.equal(await Deno.readTextFile(`${dir}/r.md`), "earlier report");
    });
  });
});

Deno.test("probe export and HAR input", async (t) => {
  await t.step("export --har writes HAR that analyze reads back", async () => {
    await tempDir(async (dir) => {
      const run = await probe(["export", "--har", `${dir}/t.har`, "-i", SAMPLE, "-t", "codex"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `Wrote ${dir}/t.har (3 entries)\n`);
      const har = JSON.parse(await Deno.readTextFile(`${dir}/t.har`));
      assert.equal(har.log.version, "1.2");
      assert.equal(har.log.entries.length, 3);
      assert.doesNotMatch(JSON.stringify(har), /sk-proj-SAMPLE|org-sample123/);
      const back = await probe(["analyze", "-t", "codex", "-i", `${dir}/t.har`, "-o", "-"]);
      assert.equal(back.code, 0, back.stderr);
      assert.match(back.stdout, /^- Total requests: 3$/m);
      assert.match(back.stdout, /^- Capture duration: 9\.7s$/m);
    });
  });
  await t.step("usage errors exit 2", async () => {
    assertOneLineError(
      await probe(["export", "-i", SAMPLE]),
      2,
      /--har OUT\.har or --otlp URL is required/,
    );
    assertOneLineError(await probe(["export", "--har", "x.har"]), 2, /--input FILE is required/);
  });
});

Deno.test("probe analyze --format html", async (t) => {
  await t.step("writes analysis_report.html beside the input", async () => {
    await tempDir(async (dir) => {
      await Deno.copyFile(SAMPLE, `${dir}/traffic.jsonl`);
      const run = await probe(["analyze", "-t", "codex", "-i", "traffic.jsonl", "-f", "html"], dir);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "Wrote analysis_report.html (3 requests, 0 problems)\n");
      const html = await Deno.readTextFile(`${dir}/analysis_report.html`);
      assert.match(html, /^<!doctype html>/i);
      assert.doesNotMatch(html, /sk-proj-SAMPLE/);
    });
  });
  await t.step("an unknown format is a usage error", async () => {
    assertOneLineError(
      await probe(["analyze", "-t", "codex", "-i", SAMPLE, "--format", "pdf"]),
      2,
      /--format must be markdown, html or json/,
    );
  });
});

Deno.test("reports and exports are private files", async (t) => {
  await t.step("analyze (Markdown, HTML) and export --har write mode 0600", async () => {
    await tempDir(async (dir) => {
      for (const args of [["-o", `${dir}/r.md`], ["-f", "html", "-o", `${dir}/r.html`]]) {
        const run = await probe(["analyze", "-t", "codex", "-i", SAMPLE, ...args]);
        assert.equal(run.code, 0, run.stderr);
      }
      const run = await probe(["export", "--har", `${dir}/t.har`, "-i", SAMPLE]);
      assert.equal(run.code, 0, run.stderr);
      for (const name of ["r.md", "r.html", "t.har"]) {
        assert.equal((await Deno.stat(`${dir}/${name}`)).mode! & 0o777, 0o600, name);
      }
    });
  });
});
