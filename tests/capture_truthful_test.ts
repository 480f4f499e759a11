/**
 * A capture must not change what it measures: the same prompt, run by the real Codex CLI
 * (API-key login, built-in provider) directly against the fake upstream, through probe in
 * reverse mode and through probe in forward mode, makes the same model requests: method, path,
 * model and stream flag, in the same order (a tool round trip, so more than one turn). The
 * direct run moves the built-in provider with `openai_base_url` as reverse mode does; forward
 * mode sets no base URL at all and `--upstream` sends api.openai.com to the fake.
 *
 * One mitmdump (the first found): the proxy's mechanics are tested on every version elsewhere.
 */
import assert from "node:assert/strict";
import { type ReceivedRequest, startFakeUpstream, TOOL_MARKER } from "./fake_upstream.ts";
import { cleanEnv, codexApiKeyLogin, codexExecArgs } from "./tools/agent_env.ts";
import { runProbe } from "./tools/capture_helpers.ts";
import { agentBin, findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const KEY = "sk-proj-FAKEprobeTESTtruthful0123456789abcdefghijklmnopqrstuv";
const TIMEOUT_MS = 180_000;

/** What must not differ between the runs: one line per model request. */
function shape(requests: readonly ReceivedRequest[]): string[] {
  return requests.filter((r) => r.api !== undefined || r.headers.upgrade === "websocket")
    .map((r) => {
      const body = r.api === undefined ? undefined : JSON.parse(new TextDecoder().decode(r.body));
      const path = r.path.split("?")[0];
      return `${r.method} ${path} model=${body?.model ?? "-"} stream=${body?.stream ?? "-"}`;
    });
}

type How = "direct" | "reverse" | "forward";

async function run(how: How): Promise<string[]> {
  const codex = await agentBin("codex");
  await using upstream = await startFakeUpstream();
  const home = await Deno.makeTempDir({ prefix: `probe-truthful-${how}-` });
  try {
    await codexApiKeyLogin(`${home}/codex`, KEY);
    const work = `${home}/work`;
    await Deno.mkdir(work);
    // The same file name in every run, so the prompts are the same text.
    await Deno.writeTextFile(`${work}/note.txt`, "the note says truthful42\n");
    const prompt = `Show me the note file. ${TOOL_MARKER}note.txt`;
    const base = `${upstream.url.replace(/\/$/, "")}/v1`;
    const exec = codexExecArgs(prompt);
    const env = cleanEnv(home, { CODEX_HOME: `${home}/codex`, NO_COLOR: "1" });
    let code: number;
    let output: string;
    if (how === "direct") {
      const out = await new Deno.Command(codex, {
        args: ["-c", `openai_base_url="${base}"`, ...exec],
        cwd: work,
        clearEnv: true,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      }).output();
      code = out.code;
      output = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    } else {
      const proxies = how === "forward"
        ? [
          "--port",
          "0",
          "--upstream",
          `api=${upstream.url}`,
          "--upstream",
          `chatgpt=${upstream.url}`,
        ]
        : ["--port", "api=0", "--port", "chatgpt=0", "--upstream", `api=${upstream.url}`];
      const r = await runProbe([
        "capture",
        "codex",
        "--mode",
        how,
        "--mitmdump",
        MITMDUMP.path,
        ...proxies,
        "-o",
        `${home}/capture`,
        "--",
        codex,
        ...exec,
      ], { cwd: work, clearEnv: true, env, timeoutMs: TIMEOUT_MS });
      code = r.code;
      output = [...r.stdout, ...r.stderr].join("\n");
    }
    assert.equal(code, 0, `${how}:\n${output}`);
    const turns = upstream.requests.filter((r) => r.api !== undefined);
    assert.ok(turns.some((r) => r.reply === "tool"), `${how}: a tool round trip\n${output}`);
    return shape(upstream.requests);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test(`Codex makes the same model requests directly and through probe (reverse, forward) [mitmproxy ${MITMDUMP.version}]`, async () => {
  const direct = await run("direct");
  assert.ok(direct.length >= 2, direct.join("\n"));
  assert.deepEqual(await run("reverse"), direct, "reverse mode");
  assert.deepEqual(await run("forward"), direct, "forward mode");
});
