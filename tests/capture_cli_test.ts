/**
 * `probe capture` as a user runs it: `deno run main.ts capture ...` as a subprocess with real
 * mitmdump (every version the setup found) and the fake upstream.
 */
import assert from "node:assert/strict";
import type { Entry } from "../lib/types.ts";
import { closedPort, openHeldStream, rawRequest, startFakeUpstream } from "./fake_upstream.ts";
import { findMitmdumps } from "./tools/paths.ts";
import {
  codexCaptureArgs,
  exists,
  listening,
  ProbeProcess,
  type ProbeSpawnOptions,
} from "./tools/capture_helpers.ts";

const MITMDUMPS = await findMitmdumps();

/** A running `probe capture ARGS`, its output collected line by line. */
function capture(args: string[], opts?: ProbeSpawnOptions): ProbeProcess {
  return new ProbeProcess(["capture", ...args], opts);
}

async function entriesOf(file: string): Promise<Entry[]> {
  return (await Deno.readTextFile(file)).split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

Deno.test("probe capture rejects bad flags with exit 2", async (t) => {
  for (
    const [args, message] of [
      [[], "capture: name a target"],
      [
        ["nope"],
        'capture: unknown target "nope"; known targets: codex, claude-code, gemini-cli, ' +
        "opencode, pi, qwen-code, aider, continue, cline, copilot, kilo, crush, openai, " +
        "anthropic (or a target file: ./NAME.jsonc)",
      ],
      [["codex", "--port", "x=1"], "no proxy named 'x' (proxies: api, chatgpt)"],
      [["codex", "--port", "99999"], "the port must be a number from 0 to 65535"],
      [["codex", "--port", "chatgpt=8080"], "proxies api and chatgpt both use port 8080"],
      [["codex", "--upstream", "ftp://x/"], "must start with http:// or https://"],
      [["codex", "--upstream-proxy", "socks5://h:1"], "only http:// (or https://) proxies"],
      [["codex", "--bogus"], "unknown option '--bogus'"],
      [["codex", "--"], "'--' must be followed by the command"],
    ] as [string[], string][]
  ) {
    await t.step(args.join(" ") || "(none)", async () => {
      const p = capture(args);
      const status = await p.finish();
      assert.equal(status.code, 2, p.stderr.join("\n"));
      assert.ok(p.stderr.join("\n").includes(message), p.stderr.join("\n"));
    });
  }
});

Deno.test("probe capture says how to install mitmdump when there is none", async () => {
  const p = capture(["codex", "--mitmdump", "/nonexistent/mitmdump"]);
  const status = await p.finish();
  assert.equal(status.code, 1);
  const err = p.stderr.join("\n");
  assert.match(
    err,
    /^probe: error: mitmdump not found at \/nonexistent\/mitmdump \(from --mitmdump\)/,
  );
  for (
    const how of [
      "pipx install mitmproxy",
      "uv tool install mitmproxy",
      "pip install mitmproxy",
      "apt install mitmproxy",
      "brew install mitmproxy",
    ]
  ) assert.ok(err.includes(how), how);
  const q = capture(["codex"], { env: { PATH: "/nonexistent", PROBE_MITMDUMP: "" } });
  assert.equal((await q.finish()).code, 1);
  assert.match(q.stderr.join("\n"), /probe: error: mitmdump not found on PATH: install mitmproxy/);
});

Deno.test("probe capture refuses a mitmdump that is too old", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fake = `${dir}/mitmdump`;
    await Deno.writeTextFile(fake, "#!/bin/sh\necho 'Mitmproxy: 7.0.4'\necho 'Python: 3.9'\n");
    await Deno.chmod(fake, 0o755);
    const p = capture(["codex", "--mitmdump", fake, "--output-dir", `${dir}/out`]);
    assert.equal((await p.finish()).code, 1);
    assert.equal(
      p.stderr.join("\n"),
      `probe: error: mitmdump 7.0.4 at ${fake} is too old: probe needs mitmproxy 8.1 or newer ` +
        "(pipx upgrade mitmproxy, or pip install -U mitmproxy)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const { path: mitmdump, version } of MITMDUMPS) {
  const tag = `[mitmproxy ${version}]`;

  Deno.test(`probe capture (proxies only) prints the setup, stops on SIGINT, keeps an in-flight stream ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    const dir = await Deno.makeTempDir();
    try {
      const p = capture(codexCaptureArgs(mitmdump, { api: upstream.url, outputDir: `${dir}/cap` }));
      await p.line(/^Press Ctrl\+C to stop\.$/);
      const api = Number((await p.line(/^ {2}:(\d+) -> (\S+) {2}\(Model API/))[1]);
      const chatgpt = Number((await p.line(/^ {2}:(\d+) -> https:\/\/chatgpt\.com\/ {2}\(/))[1]);
      assert.ok(p.stdout.includes(`  export OPENAI_BASE_URL=http://127.0.0.1:${api}/v1`));
      assert.ok(
        p.stdout.some((l) =>
          l.startsWith("  - Without probe running the command: add to ~/.codex/config.toml ") &&
          l.endsWith(
            `openai_base_url = "http://127.0.0.1:${api}/v1" and chatgpt_base_url = ` +
              `"http://127.0.0.1:${chatgpt}/backend-api/"`,
          )
        ),
      );
      assert.ok(p.stdout.includes(`Recording to: ${dir}/cap/traffic.jsonl`));
      assert.ok(p.stdout.includes(`  :${api} -> ${upstream.url}  (Model API (API key mode))`));

      // One finished exchange, one stream still open when the capture stops.
      const done = await rawRequest(`http://127.0.0.1:${api}/`, {
        method: "POST",
        path: "/v1/responses",
        headers: { "content-type": "application/json", authorization: "Bearer sk-SECRET-x" },
        body: JSON.stringify({ model: "m", stream: true, input: "first" }),
      });
      assert.equal(done.status, 200);
      const open = await openHeldStream(
        `http://127.0.0.1:${api}/`,
        JSON.stringify({ model: "m", stream: true, input: "second" }),
      );
      p.child.kill("SIGINT");
      const status = await p.finish();
      upstream.release();
      await open.done;
      assert.equal(status.code, 0, p.stderr.join("\n"));
      const file = `${dir}/cap/traffic.jsonl`;
      assert.ok(
        p.stdout.includes(`Capture stopped: 2 exchanges recorded (1 incomplete) in ${file}`),
      );
      assert.ok(p.stdout.includes(
        `  probe analyze --target codex --input ${file} --output ${dir}/cap/analysis_report.md`,
      ));
      const entries = await entriesOf(file);
      assert.equal(entries.length, 2);
      const inflight = entries.find((e) => e.incomplete)!;
      assert.equal((inflight.request.body as { input: string }).input, "second");
      assert.ok((inflight.response!.body as string).startsWith("event: response.created"));
      assert.ok(
        !entries.find((e) => !e.incomplete)!.request.headers.authorization.includes("SECRET"),
      );
      assert.ok(!(await listening(api)) && !(await listening(chatgpt)), "proxies stopped");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`probe capture -- cmd runs it with the env, passes its output and exit status, analyzes ${tag}`, async () => {
    await using upstream = await startFakeUpstream();
    const dir = await Deno.makeTempDir();
    try {
      const script = `
        const base = Deno.env.get("OPENAI_BASE_URL");
        const res = await fetch(base + "/responses", { method: "POST",
          headers: { "content-type": "application/json", authorization: "Bearer sk-SECRET-cmd" },
          body: JSON.stringify({ model: "m", stream: true, input: "all in one" }) });
        console.log("child got", res.status, (await res.text()).includes("FAKE ANSWER to: all in one"));
        Deno.exit(3);`;
      const p = capture([
        ...codexCaptureArgs(mitmdump, { api: upstream.url, outputDir: `${dir}/cap` }),
        "--analyze",
        "--",
        Deno.execPath(),
        "eval",
        script,
      ]);
      const status = await p.finish();
      assert.equal(status.code, 3, p.stderr.join("\n"));
      assert.deepEqual(p.stdout, ["child got 200 true"], "stdout belongs to the command");
      const err = p.stderr.join("\n");
      assert.match(err, /export OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1/);
      assert.ok(err.includes(`Report: ${dir}/cap/analysis_report.md (1 exchange)`), err);
      const [e] = await entriesOf(`${dir}/cap/traffic.jsonl`);
      assert.equal(e.proxy, "api");
      const report = await Deno.readTextFile(`${dir}/cap/analysis_report.md`);
      assert.ok(report.includes("all in one"));
      assert.ok(report.includes("FAKE ANSWER to: all in one"));
      assert.ok(
        !report.includes("SECRET") &&
          !(await Deno.readTextFile(`${dir}/cap/traffic.jsonl`)).includes("SECRET"),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`probe capture stops cleanly on a terminal's Ctrl+C (SIGINT to the whole group) ${tag}`, async (t) => {
    await using upstream = await startFakeUpstream();
    const dir = await Deno.makeTempDir();
    try {
      // Ctrl+C, and a hangup (a closed terminal or a dropped SSH session), reach probe and
      // its mitmdumps at once: either way the open stream is kept, marked incomplete.
      for (
        const [signal, what] of [
          ["SIGINT", "proxies only: the open stream is kept, marked incomplete"],
          ["SIGHUP", "a hangup (SIGHUP to the whole group) keeps the open stream too"],
        ] as const
      ) {
        await t.step(what, async () => {
          const p = capture(
            codexCaptureArgs(mitmdump, { api: upstream.url, outputDir: `${dir}/${signal}` }),
            { ownGroup: true },
          );
          await p.line(/^Press Ctrl\+C to stop\.$/);
          const api = Number((await p.line(/^ {2}:(\d+) -> /))[1]);
          const open = await openHeldStream(
            `http://127.0.0.1:${api}/`,
            JSON.stringify({ model: "m", stream: true, input: signal }),
          );
          Deno.kill(-p.child.pid, signal);
          const status = await p.finish();
          await open.done;
          assert.equal(status.code, 0, p.stderr.join("\n"));
          assert.ok(
            p.stdout.some((l) =>
              l.startsWith("Capture stopped: 1 exchange recorded (1 incomplete)")
            ),
            p.stdout.join("\n"),
          );
          const entries = await entriesOf(`${dir}/${signal}/traffic.jsonl`);
          assert.equal(entries.length, 1, p.stderr.join("\n"));
          assert.equal(entries[0].incomplete, true);
        });
      }
      /**
       * An all-in-one capture of a command that exits with `code` on `signal`, sent to the
       * whole group (`group`: a terminal's Ctrl+C) or to probe alone (a `kill PID`).
       */
      const signalled = async (signal: Deno.Signal, code: number, group: boolean) => {
        const started = `${dir}/started-${signal}`;
        const script = `Deno.writeTextFileSync(${JSON.stringify(started)}, "");
          Deno.addSignalListener(${JSON.stringify(signal)}, () => Deno.exit(${code}));
          await new Promise((r) => setTimeout(r, 120000));`;
        const p = capture([
          ...codexCaptureArgs(mitmdump, { api: upstream.url, outputDir: `${dir}/${signal}-b` }),
          "--",
          Deno.execPath(),
          "eval",
          script,
        ], { ownGroup: true });
        while (!(await exists(started))) await new Promise((r) => setTimeout(r, 50));
        Deno.kill(group ? -p.child.pid : p.child.pid, signal);
        const status = await p.finish();
        const said = [...p.stdout, ...p.stderr].join("\n");
        assert.equal(status.code, code, said);
        assert.ok(!p.stderr.join("\n").includes("probe: error"), said);
        return said;
      };
      await t.step("all-in-one: the command's own exit status, no crash reported", async () => {
        await signalled("SIGINT", 42, true);
      });
      await t.step("all-in-one: a SIGTERM to probe alone is said and passed on", async () => {
        assert.match(
          await signalled("SIGTERM", 43, false),
          /probe: SIGTERM: stopping; passed on to \S+, a second signal forces \(the proxies stay up until \S+ exits\)/,
        );
      });
    } finally {
      upstream.release();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`probe capture -- missing command exits 127 with the proxies stopped ${tag}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const p = capture([
        ...codexCaptureArgs(mitmdump, { outputDir: `${dir}/cap` }),
        "--",
        "no-such-command-probe-test",
        "arg",
      ]);
      const status = await p.finish();
      assert.equal(status.code, 127);
      const err = p.stderr.join("\n");
      assert.ok(
        err.includes(
          "probe: error: command not found: no-such-command-probe-test: install it or check PATH",
        ),
        err,
      );
      for (const m of err.matchAll(/^ {2}:(\d+) -> /gm)) {
        assert.ok(!(await listening(Number(m[1]))));
      }
      // Nothing ran: no empty capture is left behind, so the corrected command can use the
      // same --output-dir (probe never appends to an existing capture).
      assert.equal(await exists(`${dir}/cap`), false, "no empty capture folder left");
      const retry = capture([
        ...codexCaptureArgs(mitmdump, { outputDir: `${dir}/cap` }),
        "--",
        "true",
      ]);
      assert.equal((await retry.finish()).code, 0, retry.stderr.join("\n"));
      assert.equal(await Deno.readTextFile(`${dir}/cap/traffic.jsonl`), "");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`probe capture reports a mitmdump that dies during the run ${tag}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      // A mitmdump that really runs, and is killed when the command creates the trigger file.
      const wrapper = `${dir}/mitmdump`;
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh
"${mitmdump}" "$@" &
pid=$!
trap 'kill -TERM $pid; wait $pid; exit $?' TERM INT
case "$*" in *probe_proxy=api*) ;; *) wait $pid; exit $?;; esac
while [ ! -f "${dir}/trigger" ]; do
  kill -0 $pid 2>/dev/null || { wait $pid; exit $?; }
  sleep 0.1
done
kill -KILL $pid
echo "simulated crash" >&2
exit 9
`,
      );
      await Deno.chmod(wrapper, 0o755);
      const script = `Deno.writeTextFileSync(${JSON.stringify(`${dir}/trigger`)}, "");
        await new Promise((r) => setTimeout(r, 120000));`;
      const p = capture([
        ...codexCaptureArgs(wrapper, {
          api: `http://127.0.0.1:${closedPort()}/`,
          outputDir: `${dir}/cap`,
        }),
        "--",
        Deno.execPath(),
        "eval",
        script,
      ]);
      const status = await p.finish();
      assert.equal(status.code, 1);
      const err = p.stderr.join("\n");
      assert.match(
        err,
        /probe: error: mitmdump for proxy api \(port \d+\) exited with status 9 during the capture/,
      );
      assert.ok(err.includes("simulated crash"));
      assert.match(err, /capture stopped and the command ended \(.* exited with 143\)/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`probe capture makes a new timestamped folder per run ${tag}`, async () => {
    const cwd = await Deno.makeTempDir();
    try {
      const run = async () => {
        const p = capture([...codexCaptureArgs(mitmdump), "--", "true"], { cwd });
        assert.equal((await p.finish()).code, 0, p.stderr.join("\n"));
        return /Recording to: (captures\/codex-\d{8}-\d{6}(?:-\d+)?\/traffic\.jsonl)$/m.exec(
          p.stderr.join("\n"),
        )![1];
      };
      const a = await run();
      const b = await run();
      assert.notEqual(a, b);
      assert.equal((await Deno.stat(`${cwd}/${a}`)).mode! & 0o777, 0o600);
      // An explicit folder that already holds a capture is not appended to.
      const dirOf = a.replace(/\/traffic\.jsonl$/, "");
      const p = capture(["codex", "--mitmdump", mitmdump, "--output-dir", dirOf, "--", "true"], {
        cwd,
      });
      assert.equal((await p.finish()).code, 1);
      assert.ok(p.stderr.join("\n").includes(`${dirOf}/traffic.jsonl already exists`));
    } finally {
      await Deno.remove(cwd, { recursive: true });
    }
  });
}
