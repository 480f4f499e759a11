/**
 * Ctrl+C in a real terminal (tmux's pseudo-terminal): one Ctrl+C reaches the whole foreground
 * job, probe and the agent. The agent must get it once (probe does not pass it on again), the
 * proxies must stay up while an agent that survives Ctrl+C goes on, probe says how to force,
 * and a second Ctrl+C ends it all.
 */
import assert from "node:assert/strict";
import { startFakeUpstream } from "./fake_upstream.ts";
import { codexCaptureArgs, MAIN, readJsonl } from "./tools/capture_helpers.ts";
import { findMitmdumps, ROOT } from "./tools/paths.ts";

const AGENT = `${ROOT}/tests/tools/ctrlc_agent.ts`;
const EXIT_STATUS = `${ROOT}/tests/tools/exit_status.ts`;
const mitmdump = (await findMitmdumps())[0];

/** `probe capture codex` to the fake upstream, proxies only until more arguments follow. */
const probeCapture = (upstream: string, out: string) => [
  Deno.execPath(),
  "run",
  "-A",
  MAIN,
  "capture",
  ...codexCaptureArgs(mitmdump.path, { api: upstream, outputDir: out }),
];

const quote = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/** A tmux server of its own (private socket) running one command in a 200x50 terminal. */
class Terminal implements AsyncDisposable {
  readonly socket = `probe-ctrlc-${Deno.pid}-${Math.random().toString(36).slice(2)}`;
  #statusFile = "";

  async tmux(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return text;
  }

  /**
   * Runs argv as the terminal's foreground job (exec: no shell in between), under
   * exit_status.ts, which shares its process group and writes its exit status to a file.
   */
  async start(argv: string[], cwd: string): Promise<void> {
    this.#statusFile = `${cwd}/status-${this.socket}`;
    const wrapped = [Deno.execPath(), "run", "-A", EXIT_STATUS, this.#statusFile, "--", ...argv];
    await this.tmux(
      "new-session",
      "-d",
      "-s",
      "t",
      "-x",
      "200",
      "-y",
      "50",
      "-c",
      cwd,
      `exec ${wrapped.map(quote).join(" ")}`,
    );
    await this.tmux("set-option", "-t", "t", "remain-on-exit", "on");
  }

  ctrlC(): Promise<string> {
    return this.tmux("send-keys", "-t", "t", "C-c");
  }

  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-t", "t", "-S", "-100");
  }

  /** The exit status once the command has ended, else undefined. */
  async exitStatus(): Promise<string | undefined> {
    try {
      return (await Deno.readTextFile(this.#statusFile)).trim() || undefined;
    } catch {
      return undefined;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
  }
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  more: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value === undefined && !what.endsWith("exit") && /Pane is dead/.test(await more())) {
      throw new Error(`probe ended before ${what}:\n${await more()}`);
    }
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}:\n${await more()}`);
}

const logOf = async (file: string) => {
  try {
    return (await Deno.readTextFile(file)).trim().split("\n").filter(Boolean);
  } catch {
    return [];
  }
};

async function portOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test(`probe capture in a terminal: one Ctrl+C keeps the proxies for an agent that survives it, a second forces [mitmproxy ${mitmdump.version}]`, async (t) => {
  await using upstream = await startFakeUpstream();
  const dir = await Deno.makeTempDir({ prefix: "probe-ctrlc-" });
  try {
    for (const exitsByItself of [false, true]) {
      const name = exitsByItself ? "self" : "forced";
      const step = exitsByItself
        ? "the agent exits by itself after its cancelled turn: probe exits with its status"
        : "the agent survives Ctrl+C: proxies stay up, a second Ctrl+C forces";
      await t.step(step, async () => {
        await using term = new Terminal();
        const log = `${dir}/${name}.log`;
        const out = `${dir}/${name}`;
        await term.start([
          ...probeCapture(upstream.url, out),
          "--",
          Deno.execPath(),
          "run",
          "-A",
          AGENT,
          log,
          ...(exitsByItself ? ["--exit-after-cancel"] : []),
        ], dir);
        const more = async () =>
          (await logOf(log)).join("\n") + "\n---\n" + await term.screen() + "\n---\n" +
          await term.tmux(
            "display-message",
            "-p",
            "-t",
            "t",
            "#{pane_dead}|#{pane_dead_status}|#{pane_pid}",
          );
        await until(
          "the agent's first turn",
          async () => (await logOf(log)).includes("ready") || undefined,
          more,
        );
        const screen = await term.screen();
        const api = Number(/:(\d+) -> \S+\s+\(Model API/.exec(screen)?.[1]);
        assert.ok(api > 0, screen);

        await term.ctrlC();
        await until(
          "the request after the cancel",
          async () => (await logOf(log)).find((l) => l.startsWith("after-cancel")),
          more,
        );
        const shown = await until("probe's stopping line", async () => {
          const s = await term.screen();
          return s.includes("stopping; Ctrl-C again to force") ? s : undefined;
        }, more);
        const events = await logOf(log);
        assert.ok(events.includes("after-cancel 200"), `proxy down after Ctrl+C:\n${await more()}`);
        assert.deepEqual(events.filter((l) => l.startsWith("SIGINT")), ["SIGINT 1"], shown);

        if (exitsByItself) {
          const status = await until("probe's exit", () => term.exitStatus(), more);
          assert.equal(status, "3", await more());
        } else {
          assert.equal(await term.exitStatus(), undefined, "probe must wait for the agent");
          assert.ok(await portOpen(api), "the api proxy must stay up while the agent runs");
          await term.ctrlC();
          const status = await until("probe's exit", () => term.exitStatus(), more);
          assert.equal(status, "130", await more());
        }
        const closing = await term.screen();
        assert.match(closing, /Capture stopped: 2 exchanges recorded/, closing);
        assert.doesNotMatch(closing, /probe: error/, closing);
        assert.ok(!(await portOpen(api)), "the proxies are stopped once probe exits");
        const entries = await readJsonl(`${out}/traffic.jsonl`);
        assert.deepEqual(
          entries.map((e) => (e.request.body as { input?: string } | null)?.input),
          ["turn 1", "after-cancel"],
        );
      });
    }
  } finally {
    upstream.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`probe capture in a terminal that closes (hangup): the capture and its --analyze report are written, no error [mitmproxy ${mitmdump.version}]`, async () => {
  await using upstream = await startFakeUpstream();
  const dir = await Deno.makeTempDir({ prefix: "probe-hangup-" });
  try {
    await using term = new Terminal();
    const out = `${dir}/cap`;
    await term.start([...probeCapture(upstream.url, out), "--analyze"], dir);
    const more = () => term.screen();
    const screen = await until("the proxies", async () => {
      const s = await term.screen();
      return s.includes("Press Ctrl+C to stop.") ? s : undefined;
    }, more);
    const api = Number(/:(\d+) -> \S+\s+\(Model API/.exec(screen)?.[1]);
    const res = await fetch(`http://127.0.0.1:${api}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: "before the hangup" }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    // The terminal goes away (a closed window, a lost SSH session): every later write to it
    // fails (EIO), and the shell passes the hangup on to its job as SIGHUP (the kernel tells
    // only the session leader, here exit_status.ts, which ignores it). probe's closing lines
    // have nowhere to go; its work goes on.
    const probePid = await childOf(
      Number((await term.tmux("display-message", "-p", "-t", "t", "#{pane_pid}")).trim()),
    );
    await term.tmux("kill-session", "-t", "t");
    Deno.kill(probePid, "SIGHUP");
    const status = await until("probe's exit", () => term.exitStatus(), () => Promise.resolve(""));
    assert.equal(status, "0", "no internal error from writing to the closed terminal");
    assert.ok(!(await portOpen(api)), "the proxies are stopped");
    const entries = await readJsonl(`${out}/traffic.jsonl`);
    assert.deepEqual(entries.map((e) => (e.request.body as { input: string }).input), [
      "before the hangup",
    ]);
    const report = await Deno.readTextFile(`${out}/analysis_report.md`);
    assert.match(report, /Total requests: 1\b/);
  } finally {
    upstream.release();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The one child of a process (Linux: a child is listed under the thread that spawned it). */
async function childOf(pid: number): Promise<number> {
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const children = (await Deno.readTextFile(`/proc/${pid}/task/${task.name}/children`)).trim();
    if (children) return Number(children.split(" ")[0]);
  }
  throw new Error(`process ${pid} has no child`);
}
