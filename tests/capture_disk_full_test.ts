/**
 * A recorder that cannot write stops visibly, as mitmproxy's own save addon does: on a full
 * disk (a real 64 KiB tmpfs, mounted for the test: needs root) probe names the file and the
 * reason, ends the agent command, exits non-zero, and every line in the file is whole JSON.
 */
import assert from "node:assert/strict";
import { startFakeUpstream } from "./fake_upstream.ts";
import { codexCaptureArgs, ProbeProcess, splitJsonl } from "./tools/capture_helpers.ts";
import { findMitmdumps, ROOT } from "./tools/paths.ts";

const AGENT = `${ROOT}/tests/tools/busy_agent.ts`;
const REQUESTS = 200;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()} ` +
        "(this test mounts a 64 KiB tmpfs to fill it: run it as root)",
    );
  }
}

/** A 64 KiB tmpfs mounted on a new temp folder, unmounted and removed on dispose. */
async function smallTmpfs(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "probe-full-" });
  await run("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir]);
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await run("umount", [dir]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

for (const mitmdump of await findMitmdumps()) {
  Deno.test(`probe capture stops visibly when the disk is full [mitmproxy ${mitmdump.version}]`, async () => {
    await using upstream = await startFakeUpstream();
    await using disk = await smallTmpfs();
    const log = await Deno.makeTempFile({ prefix: "probe-full-agent-" });
    try {
      const out = `${disk.dir}/cap`;
      const p = new ProbeProcess([
        "capture",
        ...codexCaptureArgs(mitmdump.path, { api: upstream.url, outputDir: out }),
        "--",
        Deno.execPath(),
        "run",
        "-A",
        AGENT,
        String(REQUESTS),
        log,
      ], { timeoutMs: 120_000 });
      const result = await p.finish();
      const err = result.stderr.join("\n");
      assert.equal(result.code, 1, err);
      const file = `${out}/traffic.jsonl`;
      assert.ok(
        err.includes(
          `probe: error: cannot write ${file}: No space left on device (errno 28): the ` +
            "recorder of proxy api stopped",
        ),
        err,
      );
      // The command was ended: it did not get through all its requests.
      const done = (await Deno.readTextFile(log)).trim().split("\n");
      assert.ok(done.length < REQUESTS, done.slice(-3).join("\n"));
      assert.match(err, /the command ended \(.* exited with \d+\)/);
      // What was written is whole lines of JSON, and there is something.
      const { entries, partial } = splitJsonl(await Deno.readFile(file));
      assert.equal(partial, "", "no line cut in half");
      assert.ok(entries.length > 0);
    } finally {
      await Deno.remove(log);
      upstream.release();
    }
  });
}
