/**
 * User-defined targets (lib/target_file.ts): parsing and checking JSONC target files, the CLI
 * accepting a file wherever it takes a target, and a target defined only in
 * testdata/targets/chatty.jsonc captured through real mitmdump and analyzed: adding a target
 * touches no file in lib/.
 */
import assert from "node:assert/strict";
import { InputError } from "../lib/errors.ts";
import {
  isTargetFile,
  loadTargetFile,
  loadTargetFileSync,
  parseTargetFile,
} from "../lib/target_file.ts";
import type { Entry, Target } from "../lib/types.ts";
import { builtinRenderers } from "../renderers/mod.ts";
import { builtinTargets } from "../targets/mod.ts";
import { answerFor, CHAT_USAGE, COUNTED_USAGE, startFakeUpstream } from "./fake_upstream.ts";
import { findMitmdumps, ROOT } from "./tools/paths.ts";

const RENDERERS = [...builtinRenderers.keys()];
const MAIN = `${ROOT}/main.ts`;
const CHATTY = "testdata/targets/chatty.jsonc";
const CHATTY_AGENT = "testdata/targets/chatty_agent.ts";

/** The chatty fixture as a Target. */
const CHATTY_TARGET: Target = {
  name: "chatty",
  description: "Chatty, a made-up agent (OpenAI Chat Completions)",
  reportTitle: "Chatty Traffic Analysis Report",
  renderer: "openai_chat",
  proxies: [{
    name: "llm",
    port: 9190,
    upstream: "https://llm.example.com/",
    purpose: "Chat model API",
  }],
  env: { CHATTY_BASE_URL: "{llm.url}/v1" },
  manualSteps: ["Start chatty with CHATTY_API_KEY set; it reads CHATTY_BASE_URL ({llm.port})"],
  redactedHeaders: ["x-chatty-session"],
  commandArgs: {
    program: "deno",
    args: ["run", "--allow-net=127.0.0.1:{llm.port}", "--allow-env"],
  },
};

/** A valid target as JSON text, with `patch` laid over its top level. */
function targetText(patch: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: "mine",
    renderer: "openai_chat",
    proxies: [{ name: "api", port: 9000, upstream: "https://api.example.com/" }],
    ...patch,
  });
}

function proxiesText(...proxies: unknown[]): string {
  return targetText({ proxies });
}

/** The one-line message `parseTargetFile` throws for `text`. */
function errorOf(text: string): string {
  try {
    parseTargetFile(text, "my-agent.jsonc", RENDERERS);
  } catch (err) {
    assert.ok(err instanceof InputError, `an InputError, not ${err}`);
    assert.ok(!err.message.includes("\n"), `one line: ${err.message}`);
    assert.equal(err.exitCode, 1);
    return err.message;
  }
  throw new Error(`no error for ${text}`);
}

Deno.test("isTargetFile tells a file from a target name", async (t) => {
  await t.step("a value with '/' or ending in .json/.jsonc is a file", () => {
    for (
      const v of ["./my-agent.jsonc", "agents/x", "my-agent.jsonc", "a.json", "A.JSONC", "/abs/t"]
    ) {
      assert.equal(isTargetFile(v), true, v);
    }
  });
  await t.step("built-in names are not files", () => {
    for (const t of builtinTargets) assert.equal(isTargetFile(t.name), false, t.name);
    assert.equal(isTargetFile("my-agent.jsonc.bak"), false);
  });
});

Deno.test("parseTargetFile reads a JSONC target", async (t) => {
  await t.step("the chatty fixture: comments, trailing commas, $schema, every field", async () => {
    const text = await Deno.readTextFile(`${ROOT}/${CHATTY}`);
    assert.deepEqual(parseTargetFile(text, CHATTY, RENDERERS), CHATTY_TARGET);
  });
  await t.step("optional fields get defaults", () => {
    assert.deepEqual(parseTargetFile(targetText(), "dir/mine.jsonc", RENDERERS), {
      name: "mine",
      description: "User-defined target (dir/mine.jsonc)",
      reportTitle: "mine Traffic Analysis Report",
      renderer: "openai_chat",
      proxies: [{
        name: "api",
        port: 9000,
        upstream: "https://api.example.com/",
        purpose: "proxy api",
      }],
      env: {},
      manualSteps: [],
      redactedHeaders: [],
    });
  });
  await t.step("session headers and recognition rules are read", () => {
    const text = targetText({
      sessionHeaders: ["x-mine-session"],
      recognizedBy: [{ header: "user-agent", pattern: "^mine/" }],
    });
    const target = parseTargetFile(text, "mine.jsonc", RENDERERS);
    assert.deepEqual(target.sessionHeaders, ["x-mine-session"]);
    assert.deepEqual(target.recognizedBy, [{ header: "user-agent", pattern: "^mine/" }]);
  });
  await t.step("every built-in target, written as JSON, reads back the same", () => {
    for (const target of builtinTargets) {
      assert.deepEqual(
        parseTargetFile(JSON.stringify(target), `${target.name}.json`, RENDERERS),
        target,
      );
    }
  });
  await t.step("a file saved with a byte order mark reads as without it", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/bom.jsonc`;
      await Deno.writeTextFile(file, "\uFEFF" + targetText());
      assert.deepEqual(
        loadTargetFileSync(file, RENDERERS),
        parseTargetFile(targetText(), file, RENDERERS),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("loadTargetFile and loadTargetFileSync read the file", async () => {
    assert.deepEqual(await loadTargetFile(`${ROOT}/${CHATTY}`, RENDERERS), CHATTY_TARGET);
    assert.deepEqual(loadTargetFileSync(`${ROOT}/${CHATTY}`, RENDERERS), CHATTY_TARGET);
  });
  await t.step("without known renderers only the form of the id is checked", () => {
    const t = parseTargetFile(targetText({ renderer: "future_api" }), "x.jsonc");
    assert.equal(t.renderer, "future_api");
    assert.throws(
      () => parseTargetFile(targetText({ renderer: "Not An Id" }), "x.jsonc"),
      { message: "x.jsonc:1: renderer must be a renderer id (lowercase letters, digits and _)" },
    );
  });
});

Deno.test("a mistake at a key names its line, as a syntax error does", async (t) => {
  const text = [
    "// My agent",
    "{",
    '  "name": "mine",',
    '  "renderer": "openai_chat",',
    '  "proxies": [',
    "    {",
    '      "name": "api",',
    '      "port": "9000",',
    '      "upstream": "https://api.example.com/"',
    "    }",
    "  ]",
    "}",
  ];
  const file = (patch: (lines: string[]) => string[]) => patch([...text]).join("\n");
  const cases: [string, string, string][] = [
    ["a wrong type", file((l) => l), ":8: proxies[0].port must be"],
    [
      "an unknown key",
      file((l) => l.toSpliced(8, 0, '      "purpse": "x",')),
      ':9: proxies[0]: unknown key "purpse"',
    ],
    [
      "a key given twice (the second)",
      file((l) => l.toSpliced(11, 0, '  , "name": "again"')),
      ":12: name is given twice",
    ],
    [
      "a missing key (the object that lacks it)",
      file((l) => l.toSpliced(6, 1)),
      ":6: proxies[0].name must be a string",
    ],
  ];
  for (const [name, input, want] of cases) {
    await t.step(
      name,
      () => assert.ok(errorOf(input).startsWith(`my-agent.jsonc${want}`), errorOf(input)),
    );
  }
});

Deno.test("parseTargetFile rejects mistakes in one line naming the file and the key", async (t) => {
  const cases: [string, string, string][] = [
    ["empty file", "", "is empty: expected one JSON object with the target's fields"],
    ["not an object", "[1]", "must hold one JSON object with the target's fields"],
    [
      "syntax error",
      '{\n  "name": "x"\n  "renderer": "y"\n}',
      "syntax error at 3:3: comma expected",
    ],
    ["unclosed", '{"name": "x",', "syntax error at 1:14: property name expected"],
    [
      "unknown key",
      targetText({ proxy: 1 }),
      'unknown key "proxy" (known: name, description, ' +
      "reportTitle, renderer, proxies, env, manualSteps, redactedHeaders, sessionHeaders, " +
      "recognizedBy, commandArgs, forwardHosts, defaultMode)",
    ],
    [
      "bad default mode",
      targetText({ defaultMode: "sideways" }),
      'defaultMode must be "forward" or "reverse"',
    ],
    ["duplicate key", '{"name": "a", "name": "b"}', "name is given twice"],
    ["missing name", targetText({ name: undefined }), "name must be a string (the target's name)"],
    [
      "bad name",
      targetText({ name: "../x" }),
      "name must be 1-64 letters, digits, '-', '_' or " +
      "'.', starting with a letter or digit",
    ],
    [
      "missing renderer",
      targetText({ renderer: undefined }),
      "renderer must be a renderer id " +
      "(a string)",
    ],
    [
      "unknown renderer",
      targetText({ renderer: "nope" }),
      `renderer must be one of: ${RENDERERS.join(", ")}`,
    ],
    ["description not a string", targetText({ description: 3 }), "description must be a string"],
    ["reportTitle not a string", targetText({ reportTitle: [] }), "reportTitle must be a string"],
    [
      "no proxies",
      targetText({ proxies: undefined }),
      "proxies must be a non-empty array of " +
      "{name, port, upstream, purpose}",
    ],
    [
      "empty proxies",
      targetText({ proxies: [] }),
      "proxies must be a non-empty array of " +
      "{name, port, upstream, purpose}",
    ],
    [
      "proxy not an object",
      proxiesText("api"),
      "proxies[0] must be an object " +
      "{name, port, upstream, purpose}",
    ],
    [
      "unknown proxy key",
      proxiesText({ name: "a", port: 1, upstream: "http://h/", upsteam: 1 }),
      'proxies[0]: unknown key "upsteam" (known: name, port, upstream, purpose)',
    ],
    [
      "proxy without name",
      proxiesText({ port: 1, upstream: "http://h/" }),
      "proxies[0].name must be a string",
    ],
    [
      "proxy name with a dot",
      proxiesText({ name: "a.b", port: 1, upstream: "http://h/" }),
      "proxies[0].name must be letters, digits, '-' or '_' (used in --port NAME=PORT)",
    ],
    [
      "port too big",
      proxiesText({ name: "a", port: 70000, upstream: "http://h/" }),
      "proxies[0].port must be an integer 1-65535",
    ],
    [
      "port zero",
      proxiesText({ name: "a", port: 0, upstream: "http://h/" }),
      "proxies[0].port must be an integer 1-65535",
    ],
    [
      "port a string",
      proxiesText({ name: "a", port: "8080", upstream: "http://h/" }),
      "proxies[0].port must be an integer 1-65535",
    ],
    [
      "port a fraction",
      proxiesText({ name: "a", port: 80.5, upstream: "http://h/" }),
      "proxies[0].port must be an integer 1-65535",
    ],
    [
      "upstream missing",
      proxiesText({ name: "a", port: 1 }),
      "proxies[0].upstream must be a URL string",
    ],
    ...([
      ["ftp://h/", "the URL must start with http:// or https://"],
      ["https://h/v1", "give scheme, host and port only (the request path is kept)"],
      ["https://h/?a=1", "give scheme, host and port only (the request path is kept)"],
      [
        "https://u:p@h/",
        "a login in the URL (user:password@) is not supported: the agent's own credentials " +
        "pass through the proxy",
      ],
      ["not a url", "not a URL (e.g. https://api.example.com/)"],
      ["http://h:", "the port after ':' is missing"],
    ] as const).map(([u, why]): [string, string, string] => [
      `upstream ${u}`,
      proxiesText({ name: "a", port: 1, upstream: u }),
      // The reason `probe capture --upstream` gives for the same value; never the password.
      `proxies[0].upstream ${JSON.stringify(u.replace(":p@", ":***@"))}: ${why}`,
    ]),
    [
      "purpose not a string",
      proxiesText({ name: "a", port: 1, upstream: "http://h/", purpose: 1 }),
      "proxies[0].purpose must be a string",
    ],
    [
      "two proxies with one name",
      proxiesText({ name: "a", port: 1, upstream: "http://h/" }, {
        name: "a",
        port: 2,
        upstream: "http://h/",
      }),
      'proxies[1].name must be unique ("a" is also proxies[0])',
    ],
    [
      "two proxies on one port",
      proxiesText({ name: "a", port: 1, upstream: "http://h/" }, {
        name: "b",
        port: 1,
        upstream: "http://h/",
      }),
      "proxies[1].port must be unique (1 is also proxies[0])",
    ],
    [
      "env not an object",
      targetText({ env: ["A=1"] }),
      "env must be an object of NAME: value strings",
    ],
    [
      "env name",
      targetText({ env: { "MY-VAR": "x" } }),
      `env["MY-VAR"] is not a variable name (letters, digits and '_')`,
    ],
    ["env value", targetText({ env: { A: 1 } }), "env.A must be a string"],
    [
      "env placeholder",
      targetText({ env: { A: "{llm.url}/v1" } }),
      'env.A uses {llm.url}, but no proxy is named "llm" (proxies: api)',
    ],
    [
      "manualSteps not an array",
      targetText({ manualSteps: "do it" }),
      "manualSteps must be an array of strings",
    ],
    ["manualSteps item", targetText({ manualSteps: ["ok", 2] }), "manualSteps[1] must be a string"],
    [
      "manualSteps placeholder",
      targetText({ manualSteps: ["port {x.port}"] }),
      'manualSteps[0] uses {x.port}, but no proxy is named "x" (proxies: api)',
    ],
    [
      "redactedHeaders item",
      targetText({ redactedHeaders: ["x-ok", "bad header"] }),
      "redactedHeaders[1] must be an HTTP header name",
    ],
    [
      "sessionHeaders item",
      targetText({ sessionHeaders: ["bad header"] }),
      "sessionHeaders[0] must be an HTTP header name",
    ],
    [
      "recognizedBy not an array",
      targetText({ recognizedBy: { header: "user-agent" } }),
      "recognizedBy must be an array of {header, pattern}",
    ],
    [
      "recognizedBy pattern",
      targetText({ recognizedBy: [{ header: "user-agent", pattern: "(" }] }),
      "recognizedBy[0].pattern is not a regular expression (Invalid regular expression: /(/i: " +
      "Unterminated group)",
    ],
    [
      "commandArgs not an object",
      targetText({ commandArgs: ["x"] }),
      "commandArgs must be an object {program, args}",
    ],
    [
      "commandArgs unknown key",
      targetText({ commandArgs: { program: "x", argv: [] } }),
      'commandArgs: unknown key "argv" (known: program, args)',
    ],
    [
      "commandArgs program path",
      targetText({ commandArgs: { program: "/bin/x", args: [] } }),
      "commandArgs.program must be a program name without a path (e.g. my-agent)",
    ],
    [
      "commandArgs args item",
      targetText({ commandArgs: { program: "x", args: ["a", null] } }),
      "commandArgs.args[1] must be a string",
    ],
    [
      "commandArgs placeholder",
      targetText({ commandArgs: { program: "x", args: ["{y.url}"] } }),
      'commandArgs.args[0] uses {y.url}, but no proxy is named "y" (proxies: api)',
    ],
    [
      "nested duplicate key",
      '{"name":"a","renderer":"openai_chat","proxies":[{"name":"a",' +
      '"port":1,"port":2,"upstream":"http://h/"}]}',
      "proxies[0].port is given twice",
    ],
  ];
  for (const [name, text, message] of cases) {
    await t.step(name, () => {
      // Every text here is one line: a mistake at a key is on line 1.
      const line = /^(is empty|must hold|syntax error)/.test(message) ? "" : ":1";
      assert.equal(errorOf(text), `my-agent.jsonc${line}: ${message}`);
    });
  }
  await t.step("a missing file, a directory", async () => {
    await assert.rejects(loadTargetFile(`${ROOT}/testdata/targets/nope.jsonc`, RENDERERS), {
      message: `${ROOT}/testdata/targets/nope.jsonc: no such target file; check the path ` +
        "(a target with '/' or ending in .jsonc is a file)",
    });
    assert.throws(() => loadTargetFileSync(`${ROOT}/testdata/targets`, RENDERERS), {
      message: `${ROOT}/testdata/targets: is a directory, not a target file`,
    });
  });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function probe(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function assertOneLine(run: Run, code: number, line: string): void {
  assert.equal(run.code, code, run.stderr);
  assert.equal(run.stderr, `${line}\n`);
}

Deno.test("probe accepts a target file wherever it takes a target", async (t) => {
  await t.step("targets lists every built-in target with its proxies and env", async () => {
    const run = await probe(["targets"]);
    assert.equal(run.code, 0, run.stderr);
    const names = [...run.stdout.matchAll(/^(\S+) {2,}/gm)].map((m) => m[1]);
    assert.deepEqual(names, [
      "codex",
      "claude-code",
      "gemini-cli",
      "opencode",
      "pi",
      "qwen-code",
      "aider",
      "continue",
      "cline",
      "copilot",
      "kilo",
      "crush",
      "openai",
      "anthropic",
    ]);
    assert.match(run.stdout, /^ +proxies: api=:8082; env: ANTHROPIC_BASE_URL$/m);
    assert.match(
      run.stdout,
      /^ +proxies: api=:8083 codeassist=:8084; env: GOOGLE_GEMINI_BASE_URL, CODE_ASSIST_ENDPOINT$/m,
    );
  });
  await t.step("targets FILE checks the file and shows it in full", async () => {
    const run = await probe(["targets", CHATTY]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        "chatty: Chatty, a made-up agent (OpenAI Chat Completions)",
        "Report title: Chatty Traffic Analysis Report",
        "Renderer: openai_chat",
        "Default mode: reverse (--mode forward|reverse)",
        "Hosts intercepted in forward mode: llm.example.com",
        "Proxies:",
        "  llm  :9190 -> https://llm.example.com/  (Chat model API)",
        "Environment:",
        "  CHATTY_BASE_URL={llm.url}/v1",
        "Arguments added after 'deno' in all-in-one capture:",
        "  run",
        "  --allow-net=127.0.0.1:{llm.port}",
        "  --allow-env",
        "Manual steps:",
        "  - Start chatty with CHATTY_API_KEY set; it reads CHATTY_BASE_URL ({llm.port})",
        "Redacted headers (besides the built-in list): x-chatty-session",
        "",
      ].join("\n"),
    );
  });
  await t.step("analyze --target FILE titles the report from the file", async () => {
    const run = await probe([
      "analyze",
      "--target",
      `./${CHATTY}`,
      "--input",
      "testdata/sample_traffic.jsonl",
      "--output",
      "-",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^# Chatty Traffic Analysis Report$/m);
  });
  await t.step("a bad file is one error line and exit 1, for every command", async () => {
    const bad = "testdata/targets/bad_port.jsonc";
    const line = `probe: error: ${bad}:5: proxies[0].port must be an integer 1-65535`;
    assertOneLine(await probe(["targets", bad]), 1, line);
    assertOneLine(
      await probe(["analyze", "--target", bad, "--input", "testdata/sample_traffic.jsonl"]),
      1,
      line,
    );
    assertOneLine(
      await probe([
        "export",
        "--target",
        bad,
        "--har",
        "-",
        "--input",
        "testdata/sample_traffic.jsonl",
      ]),
      1,
      line,
    );
    assertOneLine(await probe(["capture", bad]), 1, line);
  });
  await t.step("a syntax error names line and column", async () => {
    const file = "testdata/targets/syntax_error.jsonc";
    assertOneLine(
      await probe(["capture", file, "--", "true"]),
      1,
      `probe: error: ${file}: syntax error at 4:3: comma expected`,
    );
  });
  await t.step("a missing file says it is taken as a file", async () => {
    assertOneLine(
      await probe(["capture", "my-agent.jsonc"]),
      1,
      "probe: error: my-agent.jsonc: no such target file; check the path (a target with '/' " +
        "or ending in .jsonc is a file)",
    );
    // probe targets FILE has no --target: the same line, which names no flag.
    assertOneLine(
      await probe(["targets", "./missing.jsonc"]),
      1,
      "probe: error: ./missing.jsonc: no such target file; check the path (a target with '/' " +
        "or ending in .jsonc is a file)",
    );
  });
  await t.step("an unknown name mentions target files", async () => {
    assertOneLine(
      await probe(["targets", "nope"]),
      2,
      'probe: error: unknown target "nope"; known targets: ' +
        `${builtinTargets.map((t) => t.name).join(", ")} (or a target file: ./NAME.jsonc)`,
    );
  });
});

/** Deno's module cache, which probe's npm imports come from (the env is cleared). */
async function denoDir(): Promise<string> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  return JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
}

const MITMDUMPS = await findMitmdumps();
const KEY = "sk-chatty-FAKEprobeTEST0123456789abcdefKEY";
const PROMPT = "Say hello to the probe test from chatty.";

for (const { path: mitmdump, version } of MITMDUMPS) {
  Deno.test(`a target defined only in a JSONC file is captured and analyzed [mitmproxy ${version}]`, async () => {
    await using upstream = await startFakeUpstream();
    const dir = await Deno.makeTempDir({ prefix: "probe-chatty-" });
    try {
      const out = `${dir}/capture`;
      const child = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          MAIN,
          "capture",
          `./${CHATTY}`,
          "--mitmdump",
          mitmdump,
          "--port",
          "llm=0",
          "--upstream",
          `llm=${upstream.url}`,
          "--output-dir",
          out,
          "--analyze",
          "--",
          Deno.execPath(),
          CHATTY_AGENT,
          PROMPT,
        ],
        cwd: ROOT,
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: dir,
          DENO_DIR: await denoDir(),
          NO_COLOR: "1",
          CHATTY_API_KEY: KEY,
        },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(child.stdout);
      const stderr = new TextDecoder().decode(child.stderr);
      assert.equal(child.code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.equal(stdout, `${answerFor(PROMPT)}\n${answerFor(`${PROMPT} (again)`)}\n`);

      // The banner and the command show the placeholders filled with the port in use.
      const port = /:(\d+) -> /.exec(stderr)?.[1];
      assert.ok(port, stderr);
      assert.ok(stderr.includes(`export CHATTY_BASE_URL=http://127.0.0.1:${port}/v1\n`), stderr);
      assert.ok(stderr.includes(`--allow-net=127.0.0.1:${port} --allow-env `), stderr);

      // The agent reached the fake upstream through the proxy, with the real key.
      assert.deepEqual(upstream.requests.map((r) => `${r.method} ${r.path}`), [
        "POST /v1/chat/completions",
        "POST /v1/chat/completions",
      ]);
      assert.equal(upstream.requests[0].headers.authorization, `Bearer ${KEY}`);

      const capture = await Deno.readTextFile(`${out}/traffic.jsonl`);
      const entries: Entry[] = capture.split("\n").filter((l) => l).map((l) => JSON.parse(l));
      assert.equal(entries.length, 2);
      for (const e of entries) {
        assert.equal(e.proxy, "llm");
        assert.match(e.request.headers["authorization"], /^Bearer \[REDACTED:[0-9a-f]{8}\]$/);
        assert.match(e.request.headers["x-chatty-session"], /^\[REDACTED:[0-9a-f]{8}\]$/);
      }

      const report = await Deno.readTextFile(`${out}/analysis_report.md`);
      assert.match(report, /^# Chatty Traffic Analysis Report$/m);
      assert.match(report, /^- Total requests: 2$/m);
      assert.equal(
        [...report.matchAll(/^- \*\*Renderer:\*\* (.*)$/gm)].map((m) => m[1]).join("\n"),
        "OpenAI Chat Completions API (openai_chat)\nOpenAI Chat Completions API (openai_chat)",
      );
      assert.ok(report.includes(PROMPT));
      assert.ok(report.includes(answerFor(PROMPT)));
      assert.ok(report.includes(answerFor(`${PROMPT} (again)`)));
      // Streamed with include_usage and not streamed: both carry CHAT_USAGE.
      const u = COUNTED_USAGE.chat;
      assert.equal(u.input, CHAT_USAGE.prompt_tokens);
      assert.ok(
        report.includes(
          `| chatty-1 | 2 | 2 | ${2 * u.input} | ${2 * u.cached} | 0 | ${2 * u.output} | 0 |`,
        ),
        report.slice(0, 2000),
      );
      for (const [name, text] of [["capture", capture], ["report", report]]) {
        assert.ok(!text.includes("FAKEprobeTEST"), `no part of the key in the ${name}`);
        assert.ok(!text.includes("chatty-session-0001"), `target's redacted header in the ${name}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
