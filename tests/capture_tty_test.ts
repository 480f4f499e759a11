/**
 * Interactive use: an agent's own interactive prompt keeps its terminal under
 * `probe capture ... -- agent`. tmux gives probe a pseudo-terminal; the real aider (forward
 * mode) runs interactively in it: probe's own lines come before aider starts, the test types a
 * message, reads the fake model's answer on the screen, quits aider with /exit, and probe's
 * closing lines and its exit status follow. The pane is read, never assumed: each wait polls
 * `tmux capture-pane` for the text it needs.
 */
import assert from "node:assert/strict";
import { startFakeUpstream } from "./fake_upstream.ts";
import { cleanEnv } from "./tools/agent_env.ts";
import { MAIN, readJsonl } from "./tools/capture_helpers.ts";
import { agentBin, findMitmdumps } from "./tools/paths.ts";

const MITMDUMP = (await findMitmdumps())[0];
const KEY = "sk-proj-FAKEprobeTESTtty0123456789abcdefghijklmnopqrstuvwxyz";

async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** The pane's text (with its scrollback) once `re` matches it; fails after `ms`. */
async function waitFor(session: string, re: RegExp, ms = 120_000): Promise<string> {
  const deadline = Date.now() + ms;
  let screen = "";
  while (Date.now() < deadline) {
    screen = await tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", session);
    if (re.test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the terminal never showed ${re}; it shows:\n${screen}`);
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

Deno.test(`an interactive agent keeps its terminal under probe capture (aider in tmux) [mitmproxy ${MITMDUMP.version}]`, async () => {
  const aider = await agentBin("aider");
  await using upstream = await startFakeUpstream();
  const home = await Deno.makeTempDir({ prefix: "probe-tty-" });
  const session = `probe-tty-${Deno.pid}`;
  try {
    const env = cleanEnv(home, {
      OPENAI_API_KEY: KEY,
      TERM: "xterm-256color",
      // litellm's price table from the package, not from GitHub (offline).
      LITELLM_LOCAL_MODEL_COST_MAP: "True",
    });
    const command = [
      "env",
      "-i",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Deno.execPath(),
      "run",
      "-A",
      MAIN,
      "capture",
      "aider",
      "--mitmdump",
      MITMDUMP.path,
      "--port",
      "0",
      "--upstream",
      `api=${upstream.url}`,
      "-o",
      `${home}/capture`,
      "--",
      aider,
      "--model",
      "gpt-4o",
      "--no-git",
      "--no-check-update",
      "--no-show-release-notes",
      "--no-show-model-warnings",
      "--no-analytics",
    ].map(quote).join(" ");
    // The shell stays after probe exits, so its status and last lines can be read.
    await tmux(
      "new-session",
      "-d",
      "-s",
      session,
      "-x",
      "160",
      "-y",
      "50",
      "-c",
      home,
      `${command}; echo PROBE-EXIT=$?; sleep 600`,
    );

    const started = await waitFor(session, /^> /m);
    const before = started.split("\n").map((l) => l.trimEnd());
    assert.match(before.find((l) => l.trim() !== "")!, /^probe capture: aider .*forward mode$/);
    assert.ok(before.some((l) => l.startsWith("Running: ") && l.includes("aider --model gpt-4o")));
    assert.ok(before.some((l) => /^Aider v0\.86\.2$/.test(l)), "aider started in the terminal");

    await tmux("send-keys", "-t", session, "say hello from the terminal", "Enter");
    await waitFor(session, /FAKE ANSWER to: say hello from the terminal/);
    await tmux("send-keys", "-t", session, "/exit", "Enter");
    const end = await waitFor(session, /PROBE-EXIT=\d+/);
    assert.match(end, /PROBE-EXIT=0/);
    assert.match(end, /Capture stopped: 1 exchange recorded in /);
    // probe's closing lines come after aider's last output.
    assert.ok(end.lastIndexOf("Capture stopped") > end.lastIndexOf("FAKE ANSWER"));

    const entries = await readJsonl(`${home}/capture/traffic.jsonl`);
    assert.deepEqual(entries.map((e) => e.request.url), [
      "https://api.openai.com/v1/chat/completions",
    ]);
    assert.ok(!JSON.stringify(entries).includes(KEY));
  } finally {
    await tmux("kill-session", "-t", session).catch(() => {});
    await Deno.remove(home, { recursive: true });
  }
});
