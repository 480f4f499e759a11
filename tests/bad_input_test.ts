/**
 * The bad-input matrix, one table: every way a user can hand probe something wrong. Each row
 * runs the real CLI (`deno run main.ts`, real mitmdump where capture needs it) and checks the
 * one-line `probe: error: …` message (or the warning), the documented exit status (README:
 * 1 failure, 2 usage, the command's own status in all-in-one capture, 127 when it does not
 * exist) and that no captured data is lost: inputs stay byte-identical, an earlier report or
 * capture is not overwritten, and what a capture recorded is kept.
 */
import assert from "node:assert/strict";
import { closedPort } from "./fake_upstream.ts";
import {
  codexCaptureArgs,
  exists,
  newestMitmdump,
  type ProbeResult,
  readJsonl,
  runProbe,
} from "./tools/capture_helpers.ts";

const MITMDUMP = (await newestMitmdump()).path;
const testdata = new URL("../testdata/", import.meta.url).pathname;
const SAMPLE = `${testdata}sample_traffic.jsonl`;
const BAD_SYNTAX = `${testdata}bad_target_syntax.jsonc`;
const BAD_TYPE = `${testdata}bad_target_type.jsonc`;
/** What a good earlier report holds; a failed run must leave it as it was. */
const EARLIER_REPORT = "# an earlier, good report\n";

/** `text` as a literal inside a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** How a row runs probe. */
interface Run {
  args: string[];
  /** The working folder (default: the test's). */
  cwd?: string;
  /** Called once probe has exited. */
  cleanup?: () => void;
}

interface Row {
  name: string;
  /** Prepares the row's own folder (inputs, earlier files) and says how to run probe. */
  setup(dir: string): Promise<Run> | Run;
  code: number;
  /** The one `probe: error:` line, whole or as a pattern. Absent: there must be none. */
  error?: string | RegExp | ((dir: string) => string | RegExp);
  /** Checks that nothing was lost (and whatever else the row promises). */
  check?(dir: string, result: ProbeResult): Promise<void>;
}

/**
 * An analyze row: the input is `DIR/traffic.jsonl` (written by `write`, or absent) with an
 * earlier report at the default output path; both must come out unchanged.
 */
function analyzeRow(
  name: string,
  write: (input: string) => Promise<void>,
  error: (input: string) => string,
): Row {
  const before = new Map<string, Uint8Array | null>();
  return {
    name,
    async setup(dir) {
      const input = `${dir}/traffic.jsonl`;
      await write(input);
      await Deno.writeTextFile(`${dir}/analysis_report.md`, EARLIER_REPORT);
      const isFile = await Deno.stat(input).then((s) => s.isFile, () => false);
      before.set(dir, isFile ? await Deno.readFile(input) : null);
      return { args: ["analyze", "--target", "codex", "--input", input] };
    },
    code: 1,
    error: (dir) => error(`${dir}/traffic.jsonl`),
    async check(dir) {
      const input = before.get(dir);
      if (input) assert.deepEqual(await Deno.readFile(`${dir}/traffic.jsonl`), input);
      assert.equal(
        await Deno.readTextFile(`${dir}/analysis_report.md`),
        EARLIER_REPORT,
        "the earlier report is not overwritten",
      );
      const names = [];
      for await (const e of Deno.readDir(dir)) names.push(e.name);
      assert.deepEqual(names.filter((n) => n.includes(".partial")), [], "no partial report");
    },
  };
}

/** Proxies-only capture rows never reach the proxies: their output folder must not exist. */
async function noCaptureFolder(dir: string): Promise<void> {
  assert.ok(!(await exists(`${dir}/cap`)), "no capture folder made");
}

const ROWS: Row[] = [
  analyzeRow(
    "analyze: missing input file",
    async () => {},
    (f) => `probe: error: ${f}: no such file; check the --input path`,
  ),
  analyzeRow(
    "analyze: empty input file",
    (f) => Deno.writeTextFile(f, ""),
    (f) => `probe: error: ${f}: empty file; nothing was captured`,
  ),
  analyzeRow(
    "analyze: binary input file",
    (f) => Deno.writeFile(f, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0, 0, 13])),
    (f) => `probe: error: ${f}: binary data (NUL byte at offset 8); this is not a JSONL capture`,
  ),
  analyzeRow(
    "analyze: a capture saved as UTF-16",
    async (f) => {
      const text = await Deno.readTextFile(SAMPLE);
      const utf16 = new Uint8Array(2 + text.length * 2);
      utf16.set([0xff, 0xfe]);
      for (let i = 0; i < text.length; i++) {
        new DataView(utf16.buffer).setUint16(2 + i * 2, text.charCodeAt(i), true);
      }
      await Deno.writeFile(f, utf16);
    },
    (f) =>
      `probe: error: ${f}: UTF-16 text; probe reads captures as UTF-8 (convert it, e.g. ` +
      "iconv -f UTF-16 -t UTF-8)",
  ),
  analyzeRow(
    "analyze: a folder without a capture file as input",
    (f) => Deno.mkdir(f),
    (f) =>
      `probe: error: ${f}: no capture file in this folder (looked for *.jsonl, *.jsonl.gz and ` +
      `*.har beneath it)`,
  ),
  analyzeRow(
    "analyze: a file with no entry",
    (f) => Deno.writeTextFile(f, '{"not": "an entry"}\nnot json\n'),
    (f) =>
      `probe: error: ${f}: no valid entries (2 malformed lines); is this a probe JSONL capture?`,
  ),
  {
    name: "analyze: truncated file (last line cut): exit 0, a warning, the rest rendered",
    async setup(dir) {
      const lines = (await Deno.readTextFile(SAMPLE)).split("\n").filter((l) => l);
      assert.equal(lines.length, 3);
      const cut = lines[2].slice(0, Math.floor(lines[2].length / 2));
      await Deno.writeTextFile(`${dir}/traffic.jsonl`, `${lines[0]}\n${lines[1]}\n${cut}`);
      return { args: ["analyze", "--target", "codex", "--input", `${dir}/traffic.jsonl`] };
    },
    code: 0,
    async check(dir, r) {
      assert.equal(r.stderr.length, 1, r.stderr.join("\n"));
      assert.match(
        r.stderr[0],
        new RegExp(`^warning: ${dir}/traffic\\.jsonl:3: skipping malformed line \\(.+\\)$`),
      );
      assert.match(
        r.stdout.join("\n"),
        new RegExp(`^Wrote ${dir}/analysis_report\\.md \\(2 requests, 1 problem\\)$`),
      );
      const report = await Deno.readTextFile(`${dir}/analysis_report.md`);
      assert.ok(report.includes("- Total requests: 2\n"));
      assert.ok(report.includes("- line 3: malformed line skipped ("));
    },
  },
  {
    name: "analyze: unknown target",
    setup: () => ({ args: ["analyze", "--target", "no-such-agent", "--input", SAMPLE] }),
    code: 2,
    error: /^probe: error: unknown target "no-such-agent"; known targets: codex, /,
  },
  {
    name: "capture: unknown target",
    setup: (dir) => ({ args: ["capture", "no-such-agent", "--output-dir", `${dir}/cap`] }),
    code: 2,
    error: /^probe: error: capture: unknown target "no-such-agent"; known targets: codex, /,
    check: noCaptureFolder,
  },
  {
    name: "analyze: JSONC target file with a syntax error",
    setup: () => ({
      args: ["analyze", "--target", BAD_SYNTAX, "--input", SAMPLE, "--output", "-"],
    }),
    code: 1,
    error: `probe: error: ${BAD_SYNTAX}: syntax error at 5:3: comma expected`,
  },
  {
    name: "analyze: JSONC target file with a wrong type",
    setup: () => ({ args: ["analyze", "--target", BAD_TYPE, "--input", SAMPLE, "--output", "-"] }),
    code: 1,
    error: new RegExp(
      `^probe: error: ${literal(BAD_TYPE)}:7: proxies must be a non-empty array\\b`,
    ),
  },
  {
    name: "capture: JSONC target file with a wrong type",
    setup: (dir) => ({
      args: ["capture", BAD_TYPE, "--mitmdump", MITMDUMP, "--output-dir", `${dir}/cap`],
    }),
    code: 1,
    error: new RegExp(
      `^probe: error: ${literal(BAD_TYPE)}:7: proxies must be a non-empty array\\b`,
    ),
    check: noCaptureFolder,
  },
  (() => {
    let port = 0;
    const earlier = "captures/codex-20200101-000000/traffic.jsonl";
    return {
      name: "capture: port in use; the earlier capture is untouched",
      async setup(dir: string) {
        await Deno.mkdir(`${dir}/captures/codex-20200101-000000`, { recursive: true });
        await Deno.copyFile(SAMPLE, `${dir}/${earlier}`);
        const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        port = (busy.addr as Deno.NetAddr).port;
        return {
          args: ["capture", "codex", "--mitmdump", MITMDUMP, "--port", `api=${port}`],
          cwd: dir,
          cleanup: () => busy.close(),
        };
      },
      code: 1,
      error: () =>
        `probe: error: port ${port} (proxy api) is already in use: pick another with ` +
        "--port api=PORT",
      async check(dir: string) {
        assert.deepEqual(await Deno.readFile(`${dir}/${earlier}`), await Deno.readFile(SAMPLE));
        // The failed run leaves no folder of its own behind.
        const names = [];
        for await (const e of Deno.readDir(`${dir}/captures`)) names.push(e.name);
        assert.deepEqual(names, ["codex-20200101-000000"]);
      },
    };
  })(),
  {
    name: "capture: mitmdump missing (--mitmdump /nonexistent)",
    setup: (dir) => ({
      args: ["capture", "codex", "--mitmdump", "/nonexistent", "--output-dir", `${dir}/cap`],
    }),
    code: 1,
    error: "probe: error: mitmdump not found at /nonexistent (from --mitmdump): install " +
      "mitmproxy (pipx install mitmproxy, uv tool install mitmproxy, pip install mitmproxy, " +
      "apt install mitmproxy or brew install mitmproxy), or point --mitmdump / PROBE_MITMDUMP " +
      "at mitmdump",
    check: noCaptureFolder,
  },
  {
    name: "capture: mitmdump too old",
    async setup(dir) {
      await Deno.writeTextFile(
        `${dir}/mitmdump`,
        "#!/bin/sh\necho 'Mitmproxy: 8.0.0'\necho 'Python:    3.10.12'\n",
      );
      await Deno.chmod(`${dir}/mitmdump`, 0o755);
      return {
        args: ["capture", "codex", "--mitmdump", `${dir}/mitmdump`, "--output-dir", `${dir}/cap`],
      };
    },
    code: 1,
    error: (dir) =>
      `probe: error: mitmdump 8.0.0 at ${dir}/mitmdump is too old: probe needs mitmproxy 8.1 ` +
      "or newer (pipx upgrade mitmproxy, or pip install -U mitmproxy)",
    check: noCaptureFolder,
  },
  {
    name: "capture: unreachable upstream: the command gets a 502, the exchange is recorded",
    setup(dir) {
      const script = `const r = await fetch(Deno.env.get("OPENAI_BASE_URL") + "/responses", {
          method: "POST", headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "m", stream: false, input: "nobody home" }) });
        await r.body?.cancel();
        Deno.exit(r.status === 502 ? 0 : 9);`;
      return {
        args: [
          "capture",
          ...codexCaptureArgs(MITMDUMP, {
            api: `http://127.0.0.1:${closedPort()}/`,
            outputDir: `${dir}/cap`,
          }),
          "--",
          Deno.execPath(),
          "eval",
          script,
        ],
      };
    },
    code: 0,
    async check(dir, r) {
      const file = `${dir}/cap/traffic.jsonl`;
      assert.ok(
        r.stderr.includes(`Capture stopped: 1 exchange recorded (1 failed) in ${file}`),
        r.stderr.join("\n"),
      );
      const [e] = await readJsonl(file);
      assert.equal(e.response, null);
      assert.match(e.error!, /refused|connect/i);
      assert.deepEqual(e.request.body, { model: "m", stream: false, input: "nobody home" });
    },
  },
  {
    name: "capture: command not found (127); no empty capture left to refuse the retry",
    setup: (dir) => ({
      args: [
        "capture",
        ...codexCaptureArgs(MITMDUMP, { outputDir: `${dir}/cap` }),
        "--",
        "no-such-command-probe-bad-input",
      ],
    }),
    code: 127,
    error: "probe: error: command not found: no-such-command-probe-bad-input: install it or " +
      "check PATH (proxies stopped, nothing was run)",
    async check(dir) {
      // Nothing ran, so nothing was recorded: the folder probe made is gone again, and the
      // corrected command may use the same --output-dir.
      await assert.rejects(Deno.stat(`${dir}/cap`), Deno.errors.NotFound);
    },
  },
];

Deno.test("probe bad input: one error line, the documented exit status, no data lost", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "probe-bad-input-" });
  try {
    for (const [i, row] of ROWS.entries()) {
      await t.step(row.name, async () => {
        const dir = `${root}/${i}`;
        await Deno.mkdir(dir);
        const run = await row.setup(dir);
        let r: ProbeResult;
        try {
          r = await runProbe(run.args, run.cwd ? { cwd: run.cwd } : {});
        } finally {
          run.cleanup?.();
        }
        const all = [...r.stdout, ...r.stderr].join("\n");
        assert.equal(r.code, row.code, all);
        assert.ok(!all.includes("internal error"), all);
        const errors = r.stderr.filter((l) => l.startsWith("probe: error:"));
        const expected = typeof row.error === "function" ? row.error(dir) : row.error;
        if (expected === undefined) {
          assert.deepEqual(errors, [], "no error line");
        } else {
          assert.equal(errors.length, 1, all);
          assert.equal(r.stderr.at(-1), errors[0], `the error is the last line:\n${all}`);
          if (expected instanceof RegExp) assert.match(errors[0], expected);
          else assert.equal(errors[0], expected);
        }
        await row.check?.(dir, r);
      });
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
