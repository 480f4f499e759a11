/**
 * The real Codex CLI (the pinned @openai/codex from the test setup) captured end to end:
 * `probe capture codex --analyze -- codex exec "..."` against the fake upstream, on every
 * mitmdump the setup found. The report must show the prompt, the streamed answer and the
 * usage; neither the capture nor the report may hold the key.
 */
import assert from "node:assert/strict";
import type { Entry } from "../lib/types.ts";
import { answerFor, startFakeUpstream, USAGE } from "./fake_upstream.ts";
import { codexBin, findMitmdumps, ROOT } from "./tools/paths.ts";

const MITMDUMPS = await findMitmdumps();
const CODEX = await codexBin();
const KEY = "sk-proj-FAKEprobeTEST0123456789abcdefKEY";
const PROMPT = "Reply with one short greeting for the probe capture test.";

/**
 * A clean environment for probe and Codex (no real keys or proxies of the caller), keeping
 * only what Deno needs to find its module cache and the machine's CA bundle.
 */
async function cleanEnv(home: string): Promise<Record<string, string>> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    CODEX_HOME: `${home}/codex`,
    OPENAI_API_KEY: KEY,
    DENO_DIR: JSON.parse(new TextDecoder().decode(info.stdout)).denoDir,
  };
  for (const name of ["DENO_TLS_CA_STORE", "DENO_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

for (const { path: mitmdump, version } of MITMDUMPS) {
  Deno.test(`probe capture codex -- codex exec (real Codex CLI) [mitmproxy ${version}]`, async () => {
    await using upstream = await startFakeUpstream();
    const home = await Deno.makeTempDir({ prefix: "probe-codex-home-" });
    try {
      await Deno.mkdir(`${home}/codex`);
      await Deno.mkdir(`${home}/work`);
      const out = `${home}/capture`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}/main.ts`,
          "capture",
          "codex",
          "--mitmdump",
          mitmdump,
          "--port",
          "api=0",
          "--port",
          "chatgpt=0",
          "--upstream",
          `api=${upstream.url}`,
          "--upstream",
          `chatgpt=${upstream.url}`,
          "--output-dir",
          out,
          "--analyze",
          "--",
          CODEX,
          "exec",
          "--skip-git-repo-check",
          "--ephemeral",
          "-c",
          "analytics.enabled=false",
          "-c",
          "check_for_update_on_startup=false",
          "--disable",
          "plugins",
          PROMPT,
        ],
        cwd: `${home}/work`,
        clearEnv: true,
        env: await cleanEnv(home),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      });
      const result = await withTimeout(child.output(), 180_000);
      const stdout = new TextDecoder().decode(result.stdout);
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.ok(stdout.includes(answerFor(PROMPT)), "codex printed the answer");

      // Codex really went through the proxy, with the real key, to the fake upstream.
      const model = upstream.requests.filter((r) => r.path === "/v1/responses");
      assert.ok(model.length >= 1);
      assert.equal(model[0].headers.authorization, `Bearer ${KEY}`);

      const capture = await Deno.readTextFile(`${out}/traffic.jsonl`);
      const entries: Entry[] = capture.split("\n").filter((l) => l).map((l) => JSON.parse(l));
      const turn = entries.find((e) => e.request.url.endsWith("/v1/responses"))!;
      assert.ok(turn, "the model request was captured");
      assert.equal(turn.proxy, "api");
      assert.match(
        turn.request.headers["authorization"] ?? turn.request.headers["Authorization"],
        /^Bearer \[REDACTED:[0-9a-f]{8}\]$/,
      );
      assert.equal(typeof turn.response!.body, "string");
      assert.ok((turn.response!.body as string).includes("response.completed"));

      const report = await Deno.readTextFile(`${out}/analysis_report.md`);
      assert.ok(report.includes(PROMPT), "the report shows the prompt");
      assert.ok(report.includes(answerFor(PROMPT)), "the report shows the streamed answer");
      assert.ok(report.includes(String(USAGE.total_tokens)), "the report shows the usage");
      for (const [name, text] of [["capture", capture], ["report", report]]) {
        assert.ok(!text.includes(KEY), `no key in the ${name}`);
        assert.ok(!text.includes("FAKEprobeTEST"), `no part of the key in the ${name}`);
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        id = setTimeout(() => reject(new Error(`no result within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(id);
  }
}
