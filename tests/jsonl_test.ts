import assert from "node:assert/strict";
import { entryProblem, LineSplitStream, type NumberedLine, readEntries } from "../lib/jsonl.ts";
import { InputError } from "../lib/errors.ts";

async function splitLines(chunks: string[]): Promise<NumberedLine[]> {
  const out: NumberedLine[] = [];
  const stream = ReadableStream.from(chunks).pipeThrough(new LineSplitStream());
  for await (const l of stream) out.push(l);
  return out;
}

async function withFile(
  content: string | Uint8Array,
  fn: (path: string) => Promise<void>,
): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

async function collect(path: string) {
  const warnings: string[] = [];
  const entries = [];
  for await (const e of readEntries(path, (line, reason) => warnings.push(`${line}: ${reason}`))) {
    entries.push(e);
  }
  return { entries, warnings };
}

const entry = (ts: number) =>
  JSON.stringify({
    timestamp: ts,
    request: { method: "POST", url: "https://x/v1/responses", headers: {}, body: { a: 1 } },
    response: { status_code: 200, headers: {}, body: "ok" },
  });

Deno.test("LineSplitStream splits lines", async (t) => {
  await t.step("LF, CRLF, and a last line without newline", async () => {
    assert.deepEqual(await splitLines(["a\nb\r\nc"]), [
      { line: 1, text: "a" },
      { line: 2, text: "b" },
      { line: 3, text: "c" },
    ]);
  });
  await t.step("a line split across many chunks is joined", async () => {
    assert.deepEqual(await splitLines(["ab", "cd", "e\nf", "g\n"]), [
      { line: 1, text: "abcde" },
      { line: 2, text: "fg" },
    ]);
  });
  await t.step("CR at the end of one chunk and LF at the start of the next", async () => {
    assert.deepEqual(await splitLines(["a\r", "\nb"]), [
      { line: 1, text: "a" },
      { line: 2, text: "b" },
    ]);
  });
  await t.step("blank lines keep their numbers", async () => {
    assert.deepEqual(await splitLines(["\n\nx\n"]), [
      { line: 1, text: "" },
      { line: 2, text: "" },
      { line: 3, text: "x" },
    ]);
  });
});

Deno.test("entryProblem names what is wrong", async (t) => {
  const cases: [unknown, string | null][] = [
    [JSON.parse(entry(1)), null],
    [[1, 2], "not a JSON object"],
    ["x", "not a JSON object"],
    [{ request: { method: "GET", url: "u" } }, "missing or non-numeric timestamp"],
    [{ timestamp: 1 }, "missing request"],
    [{ timestamp: 1, request: { url: "u" } }, "request.method is not a string"],
    [{ timestamp: 1, request: { method: "GET" } }, "request.url is not a string"],
    [
      { timestamp: 1, request: { method: "GET", url: "u", headers: { a: 1 } } },
      "request.headers is not an object of strings",
    ],
    [
      { timestamp: 1, request: { method: "GET", url: "u" }, response: { status_code: "200" } },
      "response.status_code is not a number",
    ],
    [{ timestamp: 1, request: { method: "GET", url: "u" }, response: null }, null],
  ];
  for (const [value, want] of cases) {
    await t.step(`${JSON.stringify(value).slice(0, 60)} → ${want}`, () => {
      assert.equal(entryProblem(value), want);
    });
  }
});

Deno.test("readEntries streams a capture", async (t) => {
  await t.step("skips malformed lines with their line numbers and goes on", async () => {
    const text = [entry(1), "{not json", "", "[1,2]", entry(2)].join("\n");
    await withFile(text, async (path) => {
      const { entries, warnings } = await collect(path);
      assert.deepEqual(entries.map((e) => [e.line, e.entry.timestamp]), [[1, 1], [5, 2]]);
      assert.equal(warnings.length, 2);
      assert.match(warnings[0], /^2: /);
      assert.equal(warnings[1], "4: not a JSON object");
    });
  });
  await t.step(
    "characters split between reads decode whole (2.2 MB of 2- and 4-byte text)",
    async () => {
      // Lines of differing lengths put the read boundaries (every 512 KiB) inside characters.
      const bodies = Array.from({ length: 120 }, (_, i) => "é😀".repeat(3000 + i) + "x".repeat(i));
      const lines = bodies.map((body, i) =>
        JSON.stringify({
          timestamp: i,
          request: { method: "POST", url: "https://x/", headers: {}, body },
        })
      );
      await withFile(lines.join("\n"), async (path) => {
        const { entries, warnings } = await collect(path);
        assert.deepEqual(warnings, []);
        assert.deepEqual(entries.map((e) => e.entry.request.body), bodies);
      });
    },
  );
  await t.step("lines longer than a read (512 KiB) between short ones", async () => {
    const sizes = [10, 600_000, 5, 1_400_000, 524_000, 1];
    const bodies = sizes.map((n, i) => "é😀x".repeat(Math.ceil(n / 7)) + "y".repeat(i));
    const lines = bodies.map((body, i) =>
      JSON.stringify({
        timestamp: i,
        request: { method: "POST", url: "https://x/", headers: {}, body },
      })
    );
    await withFile(lines.join("\r\n") + "\n", async (path) => {
      const { entries, warnings } = await collect(path);
      assert.deepEqual(warnings, []);
      assert.deepEqual(entries.map((e) => e.line), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(entries.map((e) => e.entry.request.body), bodies);
    });
  });
  await t.step("reads a last line without newline and CRLF files", async () => {
    await withFile(entry(1) + "\r\n" + entry(2), async (path) => {
      const { entries, warnings } = await collect(path);
      assert.equal(entries.length, 2);
      assert.deepEqual(warnings, []);
    });
  });
  await t.step("fills in optional parts of seed-format entries", async () => {
    const line = JSON.stringify({ timestamp: 1, request: { method: "GET", url: "u" } });
    await withFile(line, async (path) => {
      const { entries } = await collect(path);
      assert.deepEqual(entries[0].entry.request.headers, {});
      assert.equal(entries[0].entry.request.body, null);
      assert.equal(entries[0].entry.response, null);
    });
  });

  const failures: [string, string | Uint8Array | null, RegExp][] = [
    ["a missing file", null, /no such file/],
    ["an empty file", "", /empty file/],
    ["only blank lines", "\n\n  \n", /no entries \(only blank lines\)/],
    ["binary junk", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2]), /binary data/],
    ["text that is not JSONL", "hello\nworld\n", /no valid entries \(2 malformed lines\)/],
  ];
  for (const [name, content, pattern] of failures) {
    await t.step(`${name} is one clear InputError`, async () => {
      const run = async (path: string) => {
        await assert.rejects(collect(path), (err: unknown) => {
          assert.ok(err instanceof InputError);
          assert.match(err.message, pattern);
          assert.ok(err.message.startsWith(path + ": "));
          assert.ok(!err.message.includes("\n"));
          return true;
        });
      };
      if (content === null) await run("/nonexistent/probe/traffic.jsonl");
      else await withFile(content, run);
    });
  }
  await t.step("a directory is one clear InputError", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await assert.rejects(collect(dir), /is a directory/);
    } finally {
      await Deno.remove(dir);
    }
  });
});
