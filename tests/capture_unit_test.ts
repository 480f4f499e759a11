/** Unit tests of the capture orchestration: flags, placeholders, commands, errors, output. */
import assert from "node:assert/strict";
import { parseCaptureArgs, withoutCredentials } from "../lib/capture/args.ts";
import { captureCommand, hideKeys } from "../lib/capture/command.ts";
import { KEY_SHAPE_PREFIXES } from "../lib/redact.ts";
import { locateMitmdump, startupError } from "../lib/capture/mitmdump.ts";
import { defaultOutputDir, prepareOutput } from "../lib/capture/output.ts";
import { buildCommand, exitCodeOf, shellQuote } from "../lib/capture/run.ts";
import { ProbeError, UsageError } from "../lib/errors.ts";
import { fillEnv, fillPlaceholders } from "../lib/placeholders.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { codex } from "../targets/codex.ts";
import { builtinTargets } from "../targets/mod.ts";
import { findMitmdumps } from "./tools/paths.ts";
import { codexCaptureArgs } from "./tools/capture_helpers.ts";
import { builtinPriceTable } from "../renderers/prices.ts";

Deno.test("parseCaptureArgs applies --port and --upstream by name or to the first proxy", () => {
  const o = parseCaptureArgs([
    "codex",
    "--port",
    "9000",
    "--port",
    "chatgpt=9001",
    "--upstream",
    "http://127.0.0.1:1/",
    "--upstream",
    "chatgpt=https://example.test:8443/",
    "--analyze",
    "--keep-secrets",
    "--upstream-proxy",
    "http://u:p@proxy.test:3128",
    "--",
    "codex",
    "exec",
    "--",
    "hi",
  ], builtinTargets);
  assert.deepEqual(o.proxies.map((p) => [p.name, p.port, p.upstream]), [
    ["api", 9000, "http://127.0.0.1:1/"],
    ["chatgpt", 9001, "https://example.test:8443/"],
  ]);
  assert.deepEqual(o.command, ["codex", "exec", "--", "hi"]);
  assert.equal(o.analyze, true);
  assert.equal(o.keepSecrets, true);
  assert.equal(o.upstreamProxy, "http://u:p@proxy.test:3128");
  assert.equal(codex.proxies[0].port, 8080, "the target itself is not modified");
});

Deno.test("parseCaptureArgs defaults: seed ports, no upstream proxy, proxies-only", () => {
  const o = parseCaptureArgs(["codex"], builtinTargets);
  assert.deepEqual(o.proxies.map((p) => [p.name, p.port, p.upstream]), [
    ["api", 8080, "https://api.openai.com/"],
    ["chatgpt", 8081, "https://chatgpt.com/"],
  ]);
  assert.equal(o.upstreamProxy, undefined);
  assert.equal(o.command, null);
  assert.equal(o.outputDir, undefined);
  assert.equal(
    parseCaptureArgs(["codex", "--upstream-proxy", ""], builtinTargets).upstreamProxy,
    undefined,
  );
});

const LOGIN = "a login in the URL (user:password@) is not supported: the agent's own " +
  "credentials pass through the proxy";

Deno.test("parseCaptureArgs throws UsageError naming the flag and the fix", async (t) => {
  const cases: [string[], string][] = [
    [
      ["codex", "--port", "api=-1"],
      "capture: --port api=-1: the port must be a number from 0 to 65535",
    ],
    [
      ["codex", "--upstream", "nourl"],
      "capture: --upstream nourl: not a URL (e.g. https://api.example.com/)",
    ],
    [
      ["codex", "--upstream", "http://h/?q=1"],
      "capture: --upstream http://h/?q=1: give scheme, host and port only (the request path is kept)",
    ],
    [
      ["codex", "--upstream-proxy", "http://h:1/path"],
      "capture: --upstream-proxy http://h:1/path: give scheme, host and port only",
    ],
    // A password without a user name is a login too; a refused value is echoed without it.
    [["codex", "--upstream", "http://:pw@h/"], `capture: --upstream http://:***@h/: ${LOGIN}`],
    [
      ["codex", "--upstream", "api=http://me:hunter2@h/v1"],
      `capture: --upstream api=http://me:***@h/v1: ${LOGIN}`,
    ],
    [
      ["codex", "--upstream-proxy", "http://me:hunter2@proxy.test:3128/x"],
      "capture: --upstream-proxy http://me:***@proxy.test:3128/x: give scheme, host and port only",
    ],
    [
      ["codex", "--upstream", "http://127.0.0.1:"],
      "capture: --upstream http://127.0.0.1:: the port after ':' is missing",
    ],
    [
      ["codex", "--upstream", "api=https://[::1]:/"],
      "capture: --upstream api=https://[::1]:/: the port after ':' is missing",
    ],
    [
      ["codex", "--upstream-proxy", "http://u:p@proxy.test:"],
      "capture: --upstream-proxy http://u:***@proxy.test:: the port after ':' is missing",
    ],
    [
      ["claude-code", "--upstream", "example.org=http://127.0.0.1:1"],
      "capture: --upstream example.org=http://127.0.0.1:1: claude-code does not intercept " +
      "example.org (its hosts: api.anthropic.com; proxies: api)",
    ],
    [
      ["codex", "--upstream", "chatgpt.com=http://127.0.0.1:1"],
      "capture: --upstream chatgpt.com=http://127.0.0.1:1: no proxy named 'chatgpt.com' " +
      "(proxies: api, chatgpt); HOST=URL works in --mode forward",
    ],
    [
      ["codex", "--port", "api=0", "--port", "chatgpt=0", "--port", "9999"],
      "capture: --port 9999: api was given a --port already",
    ],
    [
      ["codex", "--upstream", "http://a:1", "--upstream", "api=http://b:2"],
      "capture: --upstream api=http://b:2: api was given a --upstream already",
    ],
    [["codex", "extra"], "capture: unexpected argument 'extra': put the command to run after '--'"],
    [["codex", "--output-dir", ""], "capture: --output-dir needs a non-empty value"],
    [["codex", "--", ""], "capture: the command after '--' is an empty word; name a program"],
    [["codex", "--", " ", "x"], "capture: the command after '--' is an empty word; name a program"],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" "), () => {
      assert.throws(() => parseCaptureArgs(argv, builtinTargets), (err: Error) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});

Deno.test("fillPlaceholders uses the ports in use and rejects unknown names", () => {
  const ports = new Map([["api", 18080], ["chatgpt", 18081]]);
  assert.deepEqual(fillEnv(codex.env, ports), { OPENAI_BASE_URL: "http://127.0.0.1:18080/v1" });
  assert.equal(fillPlaceholders("{chatgpt.port}/{api.url}", ports), "18081/http://127.0.0.1:18080");
  assert.throws(() => fillPlaceholders("{nope.url}", ports), ProbeError);
});

Deno.test("buildCommand inserts the target's args after argv[0] for its program only", () => {
  const ports = new Map([["api", 1111], ["chatgpt", 2222]]);
  const argv = buildCommand(["/opt/bin/codex", "exec", "hi"], codex, ports);
  assert.equal(argv[0], "/opt/bin/codex");
  assert.deepEqual(argv.slice(-2), ["exec", "hi"]);
  // The built-in provider moved, not replaced: Codex keeps its own transport and auth.
  assert.ok(!argv.some((a) => a.includes("model_provider")));
  assert.ok(argv.includes('openai_base_url="http://127.0.0.1:1111/v1"'));
  assert.ok(argv.includes('chatgpt_base_url="http://127.0.0.1:2222/backend-api/"'));
  assert.deepEqual(buildCommand(["npx", "codex"], codex, ports), ["npx", "codex"]);
});

Deno.test("exitCodeOf and shellQuote follow the shell's conventions", () => {
  assert.equal(exitCodeOf({ success: false, code: 3, signal: null }), 3);
  assert.equal(exitCodeOf({ success: false, code: 1, signal: "SIGTERM" }), 143);
  assert.equal(
    shellQuote("OPENAI_BASE_URL=http://127.0.0.1:1/v1"),
    "OPENAI_BASE_URL=http://127.0.0.1:1/v1",
  );
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

Deno.test("startupError names the cause and the fix", () => {
  const api = codex.proxies[0];
  const status = { success: false, code: 1, signal: null } as const;
  assert.equal(
    startupError(api, status, "[Errno 98] error while attempting to bind: address already in use")
      .message,
    "port 8080 (proxy api) is already in use: pick another with --port api=PORT",
  );
  const loadFail = startupError(
    api,
    status,
    "Loading script x\nerror in script x\nTraceback...\nNameError: y",
  );
  assert.match(
    loadFail.message,
    /^mitmdump failed to load probe's capture addon \(proxy api\); probe needs mitmproxy 8\.1/,
  );
  assert.ok(loadFail.message.endsWith("    NameError: y"));
  assert.match(
    startupError(api, { success: false, code: 0, signal: "SIGKILL" }, "").message,
    /with signal SIGKILL; mitmdump said: \(no output\)$/,
  );
});

Deno.test("locateMitmdump: --mitmdump, then PROBE_MITMDUMP, then PATH", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const exe = `${dir}/mitmdump`;
    await Deno.writeTextFile(exe, "#!/bin/sh\n");
    await Deno.chmod(exe, 0o755);
    assert.equal(await locateMitmdump(undefined, { PATH: `/nonexistent:${dir}` }), exe);
    assert.equal(await locateMitmdump(exe, { PROBE_MITMDUMP: "/nope" }), exe);
    await assert.rejects(
      locateMitmdump(undefined, { PROBE_MITMDUMP: "/nope/mitmdump", PATH: dir }),
      /from PROBE_MITMDUMP/,
    );
    await assert.rejects(
      locateMitmdump(undefined, { PATH: "/nonexistent" }),
      /^ProbeError: mitmdump not found on PATH/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("output: timestamped default folder, never an existing capture, file 0600", async () => {
  assert.equal(
    defaultOutputDir("codex", new Date(2026, 0, 2, 3, 4, 5)),
    "captures/codex-20260102-030405",
  );
  const dir = await Deno.makeTempDir();
  try {
    const out = await prepareOutput(`${dir}/a/b`, "codex");
    assert.equal(out.file, `${dir}/a/b/traffic.jsonl`);
    assert.equal((await Deno.stat(out.file)).mode! & 0o777, 0o600);
    await assert.rejects(
      prepareOutput(`${dir}/a/b/`, "codex"),
      /already exists: probe does not append/,
    );
    await Deno.writeTextFile(`${dir}/plain`, "");
    await assert.rejects(
      prepareOutput(`${dir}/plain`, "codex"),
      new RegExp(`--output-dir ${dir}/plain: is a file, not a folder; pass a folder`),
    );
    await assert.rejects(
      prepareOutput(`${dir}/plain/sub/`, "codex"),
      new RegExp(`--output-dir ${dir}/plain/sub/: ${dir}/plain is a file, not a folder`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withoutCredentials hides user:pass", () => {
  assert.equal(withoutCredentials("http://u:p@h:1"), "http://h:1/");
});

Deno.test("captureCommand (in process) runs a command through the proxies", async () => {
  const [{ path: mitmdump }] = await findMitmdumps();
  const dir = await Deno.makeTempDir();
  const printed: string[] = [];
  const warned: string[] = [];
  try {
    const code = await captureCommand(
      [...codexCaptureArgs(mitmdump, { outputDir: dir }), "--", "sh", "-c", "exit 7"],
      {
        targets: builtinTargets,
        renderers: () => Promise.resolve(builtinRenderers),
        prices: () => Promise.resolve(builtinPriceTable()),
        print: (l) => printed.push(l),
        warn: (l) => warned.push(l),
      },
    );
    assert.equal(code, 7);
    assert.deepEqual(printed, [], "all-in-one mode leaves stdout to the command");
    assert.ok(
      warned.includes(`Capture stopped: 0 exchanges recorded in ${dir}/traffic.jsonl`),
      warned.join("\n"),
    );
    assert.ok(warned.includes("Running: sh -c 'exit 7'"));
    const help: string[] = [];
    assert.equal(
      await captureCommand(["--help"], {
        targets: builtinTargets,
        renderers: () => Promise.resolve(builtinRenderers),
        prices: () => Promise.resolve(builtinPriceTable()),
        print: (l) => help.push(l),
        warn: () => {},
      }),
      0,
    );
    assert.match(help[0], /^usage: probe capture <target>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hideKeys masks keys given as arguments in the echoed command", () => {
  assert.deepEqual(
    hideKeys([
      "cline",
      "-k",
      "secret123",
      "-m",
      "gpt-4o",
      "--api-key=abc",
      "sk-proj-abcdefghij",
      "hi",
    ]),
    ["cline", "-k", "[REDACTED]", "-m", "gpt-4o", "--api-key=[REDACTED]", "[REDACTED]", "hi"],
  );
});

Deno.test("hideKeys hides every key shape lib/redact.ts knows, whole or inside a script", async (t) => {
  // One sample per shape: a shape added to lib/redact.ts without a sample here fails the test.
  const rest = (prefix: string): string =>
    prefix === "eyJ"
      ? "hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop"
      : /^(AKIA|ASIA)$/.test(prefix)
      ? "ABCDEFGHIJKLMNOP"
      : "Abcdefghij0123456789abcdefghij0123456789";
  for (const prefix of KEY_SHAPE_PREFIXES) {
    await t.step(prefix, () => {
      const key = prefix + rest(prefix);
      const short = `${prefix}abcd1234`;
      const echoed = hideKeys(["agent", key, short, "sh", "-c", `echo ${key} | agent`]);
      assert.deepEqual(echoed, [
        "agent",
        "[REDACTED]",
        "[REDACTED]",
        "sh",
        "-c",
        "echo [REDACTED] | agent",
      ]);
    });
  }
});

Deno.test("hideKeys masks keys in variable assignments, after auth schemes and inside scripts", () => {
  const key = "sk-proj-abcdefghijklmnopqrstuvwx";
  const echoed = hideKeys([
    "env",
    "OPENAI_API_KEY=plainsecret1",
    "GITHUB_TOKEN='quoted secret'",
    "MODEL=gpt-5",
    "sh",
    "-c",
    `curl -H "authorization: Bearer ${key}" -H 'x-goog-api-key: AIzaSyA1234567890abcdefghijklmnopqrstu' ` +
    `-H "x-custom: Bearer opaque.token-123" $URL; ANTHROPIC_AUTH_TOKEN="tok en" claude -p hi`,
  ]);
  assert.deepEqual(echoed.slice(0, 5), [
    "env",
    "OPENAI_API_KEY=[REDACTED]",
    "GITHUB_TOKEN=[REDACTED]",
    "MODEL=gpt-5",
    "sh",
  ]);
  assert.equal(
    echoed[6],
    `curl -H "authorization: Bearer [REDACTED]" -H 'x-goog-api-key: [REDACTED]' ` +
      `-H "x-custom: Bearer [REDACTED]" $URL; ANTHROPIC_AUTH_TOKEN=[REDACTED] claude -p hi`,
  );
  for (const secret of ["plainsecret1", "quoted secret", key, "AIzaSy", "opaque", "tok en"]) {
    assert.ok(!echoed.join(" ").includes(secret), secret);
  }
});
