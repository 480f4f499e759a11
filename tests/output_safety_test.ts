/**
 * Output safety: a closed pipe ends probe quietly, and nothing from a capture drives the
 * terminal it is printed to (controls, escape sequences) or disguises a name (bidi overrides,
 * zero-width characters), on standard output or in warnings.
 */
import assert from "node:assert/strict";
import { escapeInline } from "../lib/markdown.ts";
import { visibleText } from "../lib/visible.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const SAMPLE = new URL("../testdata/sample_traffic.jsonl", import.meta.url).pathname;

/** Raw bytes a terminal acts on, or characters that hide or reorder text. */
// deno-lint-ignore no-control-regex -- matching controls is the point
const RAW_UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069]/;

function probeCommand(args: string[], stdout: "piped" | "null" = "piped"): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdin: "null",
    stdout,
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

async function run(args: string[]) {
  const out = await probeCommand(args).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "probe-outsafe-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** An OpenAI Responses exchange whose names and texts carry hostile characters. */
function hostileEntry(): Record<string, unknown> {
  return {
    timestamp: 1770280656.1,
    request: {
      method: "POST",
      url: "https://api.openai.com/v1/responses",
      headers: {
        "content-type": "application/json",
        "x-trace\u200b-id": "abc\x1b]0;owned\x07",
      },
      body: {
        model: "gpt-5\u202e-mini",
        input: [{
          type: "message",
          role: "user",
          content: [{ type: "input_text", text: "hello \x1b[2J\x1b[31mred\x9b1m world" }],
        }],
        tools: [{
          type: "function",
          name: "read\u200bfile",
          description: "reads\x1b[8m hidden",
          parameters: { type: "object", properties: {} },
        }],
      },
    },
    response: {
      status_code: 200,
      headers: { "content-type": "application/json" },
      body: {
        id: "resp_1",
        model: "gpt-5\u202e-mini",
        output: [{
          type: "message",
          role: "assistant",
          content: [{ type: "output_text", text: "done\x1b[?25l\u2066x\u2069" }],
        }],
        usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
      },
    },
  };
}

Deno.test("a closed standard output ends probe quietly", async (t) => {
  await withTemp(async (dir) => {
    // Large enough that the report cannot fit in a pipe's buffer.
    const sample = await Deno.readTextFile(SAMPLE);
    const big = `${dir}/big.jsonl`;
    await Deno.writeTextFile(big, sample.repeat(100));
    for (
      const args of [
        ["analyze", "-t", "codex", "-i", big, "-o", "-"],
        ["analyze", "-t", "codex", "-i", big, "-o", "-", "-f", "html"],
        ["export", "--har", "-", "-i", big],
      ]
    ) {
      await t.step(args.join(" "), async () => {
        const child = probeCommand(args).spawn();
        const reader = child.stdout.getReader();
        const first = await reader.read();
        assert.ok(!first.done && first.value.length > 0);
        await reader.cancel(); // as `| head` does once it has its lines
        const [status, stderr] = await Promise.all([
          child.status,
          new Response(child.stderr).text(),
        ]);
        assert.equal(stderr, "", "no stack trace, no message");
        assert.equal(status.code, 141, "the status of a process ended by SIGPIPE");
      });
    }
  });
});

Deno.test("captured controls, escapes, bidi and zero-width characters never reach a terminal raw", async (t) => {
  await withTemp(async (dir) => {
    const input = `${dir}/hostile.jsonl`;
    // A malformed line quoting an escape sequence: JSON.parse's message repeats it.
    await Deno.writeTextFile(
      input,
      JSON.stringify(hostileEntry()) + "\n\x1b[2J\x1b]0;pwned\x07not json\u202e\n",
    );
    await t.step("Markdown on stdout and warnings on stderr", async () => {
      const r = await run(["analyze", "-t", "codex", "-i", input, "-o", "-"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW_UNSAFE);
      assert.doesNotMatch(r.stderr, RAW_UNSAFE);
      assert.match(r.stderr, /:2: skipping malformed line/);
      assert.match(r.stderr, /␛\[2J/);
      // Escape sequences shown, visibly, where they were.
      // (The message preview turns controls into spaces; the tool description shows them.)
      assert.match(r.stdout, /hello {2}\[2J \[31mred⟨U\+009B⟩1m world/);
      assert.match(r.stdout, /reads␛\[8m hidden/);
      assert.match(r.stdout, /done␛\[\?25l⟨U\+2066⟩x⟨U\+2069⟩/);
      // Names told apart from their look-alikes.
      assert.match(r.stdout, /read⟨U\+200B⟩file/);
      assert.match(r.stdout, /gpt-5⟨U\+202E⟩-mini/);
      assert.match(r.stdout, /x-trace⟨U\+200B⟩-id/);
    });
    await t.step("HTML on stdout", async () => {
      const r = await run(["analyze", "-t", "codex", "-i", input, "-o", "-", "-f", "html"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW_UNSAFE);
      assert.match(r.stdout, /read⟨U\+200B⟩file/);
      assert.match(r.stdout, /reads␛\[8m hidden/);
    });
    await t.step("HAR on stdout: the same strings, escaped as JSON", async () => {
      const r = await run(["export", "--har", "-", "-i", input]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW_UNSAFE);
      assert.doesNotMatch(r.stderr, RAW_UNSAFE);
      const har = JSON.parse(r.stdout);
      const body = JSON.parse(har.log.entries[0].request.postData.text);
      assert.equal(body.tools[0].name, "read\u200bfile", "the data itself is unchanged");
      assert.equal(body.model, "gpt-5\u202e-mini");
    });
    await t.step("an error message naming a hostile file name", async () => {
      const r = await run(["analyze", "-t", "codex", "-i", `${dir}/no\x1b[2Jsuch`, "-o", "-"]);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.stderr, RAW_UNSAFE);
      assert.match(r.stderr, /no␛\[2Jsuch: no such file/);
    });
  });
});

Deno.test("visibleText, and names in escapeInline", () => {
  assert.equal(visibleText("a\tb\nc\x1b[0m\x7f\x85"), "a\tb\nc␛[0m␡⟨U+0085⟩");
  // Joiners in emoji are text, not names: left alone there.
  assert.equal(visibleText("👨\u200d👩 a\u200bb"), "👨\u200d👩 a⟨U+200B⟩b");
  // In a name, joiners, BOM and soft hyphens are shown too (a tab stays).
  assert.equal(escapeInline("b\u200dc\ufeff\u00ad\t\x1b"), "b⟨U+200D⟩c⟨U+FEFF⟩⟨U+00AD⟩\t␛");
  assert.equal(escapeInline("plain name"), "plain name");
});
