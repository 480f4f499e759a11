/**
 * Input limits and forms: a line over the limit is one error naming it, and memory stays
 * bounded for a stream that never ends a line; gzip captures, standard input, timestamps as
 * numeric strings, and a text/event-stream response that is not SSE.
 */
import assert from "node:assert/strict";
import { InputError } from "../lib/errors.ts";
import { entryProblem, LineSplitStream, readEntries } from "../lib/jsonl.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function probe(args: string[], stdin?: Uint8Array): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function oneErrorLine(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], /^probe: error: /);
  assert.match(lines[0], pattern);
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-input-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The report without its header lines that name the source and the time. */
function reportBody(markdown: string): string {
  return markdown.replace(/^- (Source file|Generated): .*$/gm, "");
}

Deno.test("a line over the limit is one error naming the line", async (t) => {
  await t.step("LineSplitStream: a whole line over the limit", async () => {
    const lines = ReadableStream.from(["ok\n", "x".repeat(11) + "\nok\n"])
      .pipeThrough(new LineSplitStream(10, "cap.jsonl"));
    await assert.rejects(
      Array.fromAsync(lines),
      (err: Error) =>
        err instanceof InputError && /^cap\.jsonl: line 2 is longer than/.test(err.message),
    );
  });
  await t.step(
    "LineSplitStream: a line in pieces fails once its pieces pass the limit",
    async () => {
      let pulled = 0;
      // Never ends: only the limit can stop it.
      const endless = new ReadableStream<string>({
        pull(c) {
          pulled++;
          c.enqueue("y".repeat(4));
        },
      });
      await assert.rejects(
        Array.fromAsync(endless.pipeThrough(new LineSplitStream(10, "s"))),
        /s: line 1 is longer than/,
      );
      assert.ok(pulled < 10, `read ${pulled} pieces`);
    },
  );
  await t.step("a line exactly at the limit is read", async () => {
    const lines = await Array.fromAsync(
      ReadableStream.from(["ab", "cd", "\n", "abcd"]).pipeThrough(new LineSplitStream(4)),
    );
    assert.deepEqual(lines.map((l) => l.text), ["abcd", "abcd"]);
  });

  await t.step("a FIFO that never sends a newline ends in one error, memory bounded", async () => {
    await withTemp(async (dir) => {
      const fifo = `${dir}/endless.jsonl`;
      const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
      assert.ok(made.success, "mkfifo");
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", MAIN, "analyze", "-t", "codex"]
          .concat(["-i", fifo, "-o", `${dir}/r.md`, "--max-line-mib", "1"]),
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = await Deno.open(fifo, { write: true });
      const chunk = new TextEncoder().encode('{"x":"' + "z".repeat(65536));
      let written = 0;
      // Without the limit the reader would take everything: stop at 256 MiB and fail then.
      try {
        while (written < 256 * 1024 * 1024) written += await writer.write(chunk);
      } catch (err) {
        assert.ok(err instanceof Deno.errors.BrokenPipe, String(err));
      } finally {
        writer.close();
      }
      const out = await child.output();
      const run = {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
      oneErrorLine(run, /endless\.jsonl: line 1 is longer than 1 MiB .*--max-line-mib/);
      // The 1 MiB line, a few reads ahead and the pipe's buffer: far below what was offered.
      assert.ok(written < 32 * 1024 * 1024, `the reader took ${written} bytes`);
    });
  });

  await t.step("--max-line-mib must be a positive number", async () => {
    const run = await probe(["analyze", "-t", "codex", "-i", SAMPLE, "--max-line-mib", "0"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--max-line-mib must be a number of MiB above 0/);
  });
});

Deno.test("input forms: gzip, standard input", async (t) => {
  const plain = await Deno.readFile(SAMPLE);
  const expected = await probe(["analyze", "-t", "codex", "-i", SAMPLE, "-o", "-"]);
  assert.equal(expected.code, 0, expected.stderr);

  await withTemp(async (dir) => {
    await t.step("a .jsonl.gz capture is read through decompression", async () => {
      const gz = `${dir}/traffic.jsonl.gz`;
      await Deno.writeFile(gz, await gzip(plain));
      const run = await probe(["analyze", "-t", "codex", "-i", gz, "-o", "-"]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(reportBody(run.stdout), reportBody(expected.stdout));
      assert.match(run.stdout, /Source file: .*traffic\.jsonl\.gz/);
    });
    await t.step("gzip is recognised by its bytes, whatever the name", async () => {
      const renamed = `${dir}/capture.jsonl`;
      await Deno.writeFile(renamed, await gzip(plain));
      const entries = await Array.fromAsync(readEntries(renamed, () => {}));
      assert.equal(entries.length, 3);
    });
    await t.step("a truncated .gz is one error naming the file", async () => {
      const cut = `${dir}/cut.jsonl.gz`;
      const whole = await gzip(plain.slice(0, 20000));
      await Deno.writeFile(cut, whole.slice(0, whole.length - 10));
      const run = await probe(["analyze", "-t", "codex", "-i", cut, "-o", `${dir}/r.md`]);
      oneErrorLine(run, /cut\.jsonl\.gz: gzip: cannot read: .*truncated or corrupt \.gz/);
    });
    await t.step("--input - reads standard input", async () => {
      const run = await probe(["analyze", "-t", "codex", "-i", "-", "-o", "-"], plain);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(reportBody(run.stdout), reportBody(expected.stdout));
      assert.match(run.stdout, /Source file: stdin/);
    });
    await t.step("--input - reads gzip from standard input", async () => {
      const run = await probe(["analyze", "-t", "codex", "-i", "-", "-o", "-"], await gzip(plain));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(reportBody(run.stdout), reportBody(expected.stdout));
    });
    await t.step("export --har - from standard input", async () => {
      const run = await probe(["export", "--har", "-", "-i", "-"], plain);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).log.entries.length, 3);
    });
    await t.step("empty standard input is one error", async () => {
      const run = await probe(
        ["analyze", "-t", "codex", "-i", "-", "-o", `${dir}/r.md`],
        new Uint8Array(),
      );
      oneErrorLine(run, /stdin: empty file/);
    });
  });
});

Deno.test("timestamps as numeric strings are accepted", async () => {
  const base = {
    request: { method: "GET", url: "https://x/", headers: {} },
    response: { status_code: 200, headers: {}, body: "ok" },
  };
  assert.equal(entryProblem({ ...base, timestamp: "1770280656.1" }), null);
  assert.equal(entryProblem({ ...base, timestamp: " 1770280656 " }), null);
  assert.equal(entryProblem({ ...base, timestamp: "1.77e9" }), null);
  for (const bad of ["", "abc", "12abc", "NaN", "Infinity", "0x10"]) {
    assert.equal(entryProblem({ ...base, timestamp: bad }), "missing or non-numeric timestamp");
  }
  await withTemp(async (dir) => {
    const lines = (await Deno.readTextFile(SAMPLE)).trim().split("\n").map((l) => {
      const e = JSON.parse(l);
      e.timestamp = String(e.timestamp);
      return JSON.stringify(e);
    });
    const path = `${dir}/strings.jsonl`;
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    const entries = await Array.fromAsync(readEntries(path, () => assert.fail("malformed")));
    assert.equal(entries.length, 3);
    assert.equal(entries[0].entry.timestamp, 1770280656.1);
    const run = await probe(["analyze", "-t", "codex", "-i", path, "-o", "-"]);
    const expected = await probe(["analyze", "-t", "codex", "-i", SAMPLE, "-o", "-"]);
    assert.equal(reportBody(run.stdout), reportBody(expected.stdout));
  });
});

Deno.test("a text/event-stream response that is not SSE is shown as text", async () => {
  await withTemp(async (dir) => {
    const e = JSON.parse((await Deno.readTextFile(SAMPLE)).split("\n")[0]);
    e.response.status_code = 502;
    e.response.headers["content-type"] = "text/event-stream; charset=utf-8";
    e.response.body = "<html><body><h1>502 Bad Gateway</h1>upstream went away</body></html>\n";
    const path = `${dir}/notsse.jsonl`;
    await Deno.writeTextFile(path, JSON.stringify(e) + "\n");
    const run = await probe(["analyze", "-t", "codex", "-i", path, "-o", "-"]);
    assert.equal(run.code, 0, run.stderr);
    const body = run.stdout.slice(run.stdout.indexOf("#### Response Body"));
    assert.match(body, /502 Bad Gateway<\/h1>upstream went away/);
    assert.doesNotMatch(body, /SSE events|stream was cut off/);
  });
});
