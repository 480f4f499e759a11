/**
 * The capture addon's unit tests (tests/addon/, Python, mitmproxy's own taddons and tflow)
 * run with the Python of every installed mitmdump: the addon must work unchanged on each.
 */
import assert from "node:assert/strict";
import { redactionPolicy } from "../lib/redact.ts";
import { findMitmdumps, pythonOf, ROOT } from "./tools/paths.ts";

for (const m of await findMitmdumps()) {
  Deno.test(`addon unit tests pass with taddons/tflow [mitmproxy ${m.version}]`, async () => {
    const python = await pythonOf(m.path);
    // The addon's only secret list is the one probe hands it: lib/redact.ts's.
    await using policy = await tempPolicy();
    const out = await new Deno.Command(python, {
      args: ["-m", "unittest", "discover", "-v", "-s", `${ROOT}/tests/addon`],
      cwd: ROOT,
      env: {
        PYTHONPATH: `${ROOT}/lib`,
        PYTHONDONTWRITEBYTECODE: "1",
        PROBE_TEST_REDACTION: policy.path,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `unittest failed with ${python}:\n${text}`);
    const ran = /Ran (\d+) tests?/.exec(text);
    assert.ok(ran && Number(ran[1]) >= 10, `expected the addon tests to run:\n${text}`);
    // The test imported the mitmproxy of this mitmdump, not some other one on the path.
    const version = new TextDecoder().decode(
      (await new Deno.Command(python, {
        args: ["-c", "from mitmproxy import version; print(version.VERSION)"],
        stdout: "piped",
      }).output()).stdout,
    ).trim();
    assert.equal(version, m.version);
  });
}

async function tempPolicy(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempFile({ prefix: "probe-redaction-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(redactionPolicy(["openai-organization"])));
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path) };
}
