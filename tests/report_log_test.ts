import assert from "node:assert/strict";
import { ProbeError } from "../lib/errors.ts";
import { ReportLog } from "../lib/report_log.ts";

/** Collects what a log writes. */
class Sink {
  parts: Uint8Array[] = [];
  write(p: Uint8Array): Promise<number> {
    this.parts.push(p.slice());
    return Promise.resolve(p.length);
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.parts.flatMap((p) => [...p])));
  }
}

/** Texts of varied sizes (a few past the 1 MiB encoding buffer) and characters. */
function texts(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 300; i++) out.push(`### ${i}\\. é😀 ${"x".repeat((i * 7919) % 9000)}\n`);
  out.push("y".repeat(1_500_000), "é".repeat(400_000), "z\n");
  return out;
}

Deno.test("ReportLog keeps what is written, in order", async (t) => {
  const all = texts().join("");
  for (const [name, limit] of [["in memory", 64 << 20], ["moved to a file", 2 << 20]] as const) {
    await t.step(`${name} (limit ${limit} bytes)`, async () => {
      const sink = new Sink();
      let path: string | undefined;
      {
        await using log = new ReportLog({ memoryLimit: limit });
        for (const text of texts()) await log.write(text);
        await log.copyTo(sink);
        path = log.path;
        assert.equal(path !== undefined, limit < all.length, "a temporary file past the limit");
        if (path) assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      }
      assert.equal(sink.text(), all);
      if (path) await assert.rejects(Deno.stat(path), Deno.errors.NotFound, "file removed");
    });
  }
  await t.step("an empty log writes nothing", async () => {
    const sink = new Sink();
    await using log = new ReportLog();
    await log.copyTo(sink);
    assert.equal(sink.parts.length, 0);
  });
  await t.step("a temporary folder it cannot write to is one clear error", async () => {
    await using log = new ReportLog({ memoryLimit: 0, tempDir: "/nonexistent/probe-test" });
    await assert.rejects(
      log.write("x".repeat(400_000)),
      (err: unknown) =>
        err instanceof ProbeError &&
        /^cannot write the report's temporary log: .*; set TMPDIR to a folder/.test(err.message),
    );
  });
});

Deno.test("a ReportLog that is never written holds no buffer", async () => {
  // --format json makes a log per list and a report log it never writes: 1 MiB each before.
  const before = Deno.memoryUsage().external;
  const logs = Array.from({ length: 64 }, () => new ReportLog());
  const grown = Deno.memoryUsage().external - before;
  assert.ok(grown < 8 << 20, `64 unused logs hold ${grown} bytes`);
  // The measure sees buffers (by a margin that a collection of other garbage cannot close).
  for (const log of logs) await log.write("x".repeat(64 << 10));
  const written = Deno.memoryUsage().external - before;
  assert.ok(written >= 32 << 20, `64 written logs hold ${written} bytes`);
  for (const log of logs) await log[Symbol.asyncDispose]();
});
