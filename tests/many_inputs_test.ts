/**
 * Many captures at once: `analyze` and `export` read several inputs or a folder (a week of
 * captures/) as one, in time order.
 */
import assert from "node:assert/strict";
import { expandInputs, readInputs } from "../lib/inputs.ts";
import { InputError, UsageError } from "../lib/errors.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function probe(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A plain exchange whose URL path names it, at time `ts`. */
function entry(ts: number, name: string): string {
  return JSON.stringify({
    timestamp: ts,
    request: { method: "GET", url: `https://api.test/${name}`, headers: {} },
    response: { status_code: 200, headers: { "content-type": "text/plain" }, body: name },
  });
}

async function withCaptures(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-many-" });
  try {
    // A week of captures, listed out of time order by name; Tuesday's two overlap.
    const days: [string, [number, string][]][] = [
      ["a-monday", [[1000, "mon1"], [1010, "mon2"]]],
      ["c-tuesday-1", [[2000, "tue1a"], [2020, "tue1b"], [2040, "tue1c"]]],
      ["b-tuesday-2", [[2010, "tue2a"], [2030, "tue2b"]]],
      ["0-friday", [[5000, "fri1"]]],
    ];
    for (const [name, entries] of days) {
      await Deno.mkdir(`${dir}/captures/${name}`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/captures/${name}/traffic.jsonl`,
        entries.map(([ts, n]) => entry(ts, n)).join("\n") + "\n",
      );
      await Deno.writeTextFile(`${dir}/captures/${name}/analysis_report.md`, "# not a capture\n");
    }
    // A capture that never recorded anything: skipped with a warning, not fatal.
    await Deno.mkdir(`${dir}/captures/d-empty`);
    await Deno.writeTextFile(`${dir}/captures/d-empty/traffic.jsonl`, "");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const IN_TIME_ORDER = ["mon1", "mon2", "tue1a", "tue2a", "tue1b", "tue2b", "tue1c", "fri1"];

Deno.test("several captures are read as one, in time order", async (t) => {
  await withCaptures(async (dir) => {
    await t.step("a folder expands to the capture files beneath it", async () => {
      const files = await expandInputs([`${dir}/captures`]);
      assert.deepEqual(
        files.map((f) => f.slice(dir.length + 1)),
        [
          "captures/0-friday/traffic.jsonl",
          "captures/a-monday/traffic.jsonl",
          "captures/b-tuesday-2/traffic.jsonl",
          "captures/c-tuesday-1/traffic.jsonl",
          "captures/d-empty/traffic.jsonl",
        ],
      );
    });
    await t.step("readInputs merges by timestamp and skips an empty capture", async () => {
      const files = await expandInputs([`${dir}/captures`]);
      const skipped: string[] = [];
      const got = await Array.fromAsync(
        readInputs(files, () => assert.fail("malformed"), { onSkipped: (m) => skipped.push(m) }),
      );
      assert.deepEqual(got.map((e) => e.entry.response!.body), IN_TIME_ORDER);
      assert.equal(got[2].source, `${dir}/captures/c-tuesday-1/traffic.jsonl`);
      assert.equal(got[2].line, 1);
      assert.equal(skipped.length, 1);
      assert.match(skipped[0], /d-empty\/traffic\.jsonl: empty file/);
    });
    await t.step("probe analyze FOLDER: one report, in time order", async () => {
      const run = await probe(["analyze", "-t", "codex", "-i", `${dir}/captures`]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Wrote .*captures\/analysis_report\.md \(8 requests, 1 problem\)/);
      assert.match(run.stderr, /^warning: skipping .*d-empty\/traffic\.jsonl: empty file/);
      const report = await Deno.readTextFile(`${dir}/captures/analysis_report.md`);
      const order = [...report.matchAll(/^### \d+\\\. GET \/(\w+)/gm)].map((m) => m[1]);
      assert.deepEqual(order, IN_TIME_ORDER);
      assert.match(report, /Source file: .*captures \(5 capture files\)/);
      assert.match(report, /Capture duration: 4000\.0s/);
    });
    await t.step("several --input values and the files after them", async () => {
      const c = `${dir}/captures`;
      const run = await probe([
        "analyze",
        "-t",
        "codex",
        "-o",
        "-",
        "-i",
        `${c}/c-tuesday-1/traffic.jsonl`,
        `${c}/a-monday/traffic.jsonl`,
        "--input",
        `${c}/b-tuesday-2/traffic.jsonl`,
      ]);
      assert.equal(run.code, 0, run.stderr);
      const order = [...run.stdout.matchAll(/^### \d+\\\. GET \/(\w+)/gm)].map((m) => m[1]);
      assert.deepEqual(order, IN_TIME_ORDER.slice(0, 7));
    });
    await t.step("probe export --har FOLDER: one HAR, in time order", async () => {
      const run = await probe(["export", "--har", "-", "-i", `${dir}/captures`]);
      assert.equal(run.code, 0, run.stderr);
      const har = JSON.parse(run.stdout);
      assert.deepEqual(
        har.log.entries.map((e: { request: { url: string } }) => e.request.url.split("/").pop()),
        IN_TIME_ORDER,
      );
      assert.match(har.log.comment, /captures \(5 capture files\)/);
    });
    await t.step("a missing input or an empty folder is one error", async () => {
      await assert.rejects(expandInputs([`${dir}/nope`]), InputError);
      await Deno.mkdir(`${dir}/none`);
      await assert.rejects(expandInputs([`${dir}/none`]), /no capture file in this folder/);
      await assert.rejects(expandInputs(["-", "-"]), UsageError);
      const run = await probe(["analyze", "-t", "codex", "-i", `${dir}/none`]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^probe: error: .*none: no capture file in this folder/);
    });
    await t.step("inputs that all hold nothing are one error", async () => {
      await Deno.writeTextFile(`${dir}/none/a.jsonl`, "\n");
      await Deno.writeTextFile(`${dir}/none/b.jsonl`, "");
      const files = await expandInputs([`${dir}/none`]);
      await assert.rejects(
        Array.fromAsync(readInputs(files, () => {})),
        /none of these inputs holds an entry/,
      );
    });
  });
});
