/**
 * lib/args.ts against node:util `parseArgs`, which it replaces on the start-up path: the same
 * values, positionals and error messages for the option sets main.ts and `probe capture` use.
 */
import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { type OptionSpecs, parseArgs } from "../lib/args.ts";
import { UsageError } from "../lib/errors.ts";
import { CAPTURE_OPTIONS } from "../lib/capture/args.ts";
import { ANALYZE_OPTIONS } from "../main.ts";

// The option sets probe really uses.
const ANALYZE = ANALYZE_OPTIONS;
const CAPTURE = CAPTURE_OPTIONS;

type Result = { values: Record<string, unknown>; positionals: string[] } | { error: string };

/** node:util's result or its error message, in the mode probe uses. */
function reference(args: string[], options: OptionSpecs): Result {
  try {
    const { values, positionals } = nodeParseArgs({
      args,
      options,
      strict: true,
      allowPositionals: true,
    });
    return { values: { ...values }, positionals };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function ours(args: string[], options: OptionSpecs): Result {
  try {
    const { values, positionals } = parseArgs(args, options);
    return { values: { ...values }, positionals };
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${err}`);
    return { error: err.message };
  }
}

/**
 * Asserts lib/args.ts and node:util agree (the same values and positionals, or both refuse the
 * command line: the messages are probe's own, one line each), and that the result is `expected`.
 */
function same(args: string[], options: OptionSpecs, expected: Result): void {
  const got = ours(args, options);
  agree(args, options, got);
  assert.deepEqual(got, expected);
}

function agree(args: string[], options: OptionSpecs, got: Result): void {
  const want = reference(args, options);
  if ("error" in want || "error" in got) {
    assert.ok("error" in want && "error" in got, `node:util: ${JSON.stringify(want)}`);
    assert.ok(!got.error.includes("\n"), "one line");
  } else {
    assert.deepEqual(got, want, "differs from node:util");
  }
}

const unknown = (raw: string) => ({ error: `unknown option '${raw}'` });

Deno.test("parseArgs matches node:util parseArgs", async (t) => {
  await t.step("string options: --name value, --name=value, -x value, -xvalue", () => {
    same(["--target", "codex", "--input=a.jsonl", "-o", "-", "-fhtml"], ANALYZE, {
      values: { target: "codex", input: ["a.jsonl"], output: "-", format: "html" },
      positionals: [],
    });
    // The value after "=" is taken as is, "=" and dashes included.
    same(["--target=a=b", "-i=x", "--output=--x"], ANALYZE, {
      values: { target: "a=b", input: ["=x"], output: "--x" },
      positionals: [],
    });
    same(["--target", ""], ANALYZE, { values: { target: "" }, positionals: [] });
  });

  await t.step("boolean options and short flags, grouped or not", () => {
    same(["--full", "--strict", "-h"], ANALYZE, {
      values: { full: true, strict: true, help: true },
      positionals: [],
    });
    // -ht codex is -h -t codex; -htcodex is -h -tcodex.
    same(["-ht", "codex"], ANALYZE, { values: { help: true, target: "codex" }, positionals: [] });
    same(["-htcodex"], ANALYZE, { values: { help: true, target: "codex" }, positionals: [] });
  });

  await t.step("the last of a repeated option wins; multiple collects all", () => {
    same(["-t", "a", "--target", "b"], ANALYZE, { values: { target: "b" }, positionals: [] });
    same(["--port", "1", "--port=api=2", "--upstream", "http://h/"], CAPTURE, {
      values: { port: ["1", "api=2"], upstream: ["http://h/"] },
      positionals: [],
    });
  });

  await t.step("positionals, '-' and '--'", () => {
    same(["codex", "--analyze", "extra", "-"], CAPTURE, {
      values: { analyze: true },
      positionals: ["codex", "extra", "-"],
    });
    // After "--" everything is positional, "--" itself included.
    same(["-t", "x", "--", "--full", "-h", "--", "y"], ANALYZE, {
      values: { target: "x" },
      positionals: ["--full", "-h", "--", "y"],
    });
    same([], ANALYZE, { values: {}, positionals: [] });
  });

  await t.step("unknown options", () => {
    same(["--bogus"], ANALYZE, unknown("--bogus"));
    same(["--bogus=1"], ANALYZE, unknown("--bogus"));
    same(["-x"], ANALYZE, unknown("-x"));
    same(["-xyz"], ANALYZE, unknown("-x"));
    same(["-hz"], ANALYZE, unknown("-z"));
    same(["---full"], ANALYZE, unknown("---full"));
    same(["--=a=b"], ANALYZE, unknown("--"));
    // A boolean's name takes no "=": -h=1 is -h -= -1.
    same(["-h=1"], ANALYZE, unknown("-="));
    // Object's own methods are not options.
    same(["--constructor"], ANALYZE, unknown("--constructor"));
    same(["--__proto__"], ANALYZE, unknown("--__proto__"));
  });

  await t.step("a string option without its value", () => {
    same(["--target"], ANALYZE, { error: "option '--target' needs a value" });
    same(["-i"], ANALYZE, { error: "option '-i' needs a value" });
    same(["--renderer"], ANALYZE, { error: "option '--renderer' needs a value" });
    same(["codex", "--port"], CAPTURE, { error: "option '--port' needs a value" });
  });

  await t.step("a boolean option with a value", () => {
    same(["--full=yes"], ANALYZE, { error: "option '--full' takes no value" });
    same(["--help="], ANALYZE, { error: "option '--help' takes no value" });
  });

  await t.step("a value that looks like an option is refused unless given with '='", () => {
    same(["--target", "--full"], ANALYZE, {
      error: "option '--target' needs a value, not the option '--full' " +
        "(write --target=--full if that is the value)",
    });
    same(["-t", "-x"], ANALYZE, {
      error:
        "option '-t' needs a value, not the option '-x' (write --target=-x if that is the value)",
    });
    same(["--output", "--"], ANALYZE, {
      error: "option '--output' needs a value, not the option '--' " +
        "(write --output=-- if that is the value)",
    });
    same(["-t-x", "--output=-"], ANALYZE, {
      values: { target: "-x", output: "-" },
      positionals: [],
    });
  });

  await t.step("the first problem is the one reported", () => {
    same(["--bogus", "--target"], ANALYZE, unknown("--bogus"));
    same(["--target", "--bogus"], ANALYZE, {
      error: "option '--target' needs a value, not the option '--bogus' " +
        "(write --target=--bogus if that is the value)",
    });
  });

  await t.step("random command lines give the same result as node:util", () => {
    const pieces = [
      ...["codex", "-", "--", "x=y", "", "-t", "-o", "-h", "-f", "-x", "-ht", "-hx", "-thtml"],
      ...["--target", "--full", "--port", "--port=1", "--help=", "--output-dir", "--bogus", "-oo"],
    ];
    let seed = 42; // a fixed LCG so a failure can be reproduced
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 2000; i++) {
      const args = Array.from({ length: next(6) }, () => pieces[next(pieces.length)]);
      for (const options of [ANALYZE, CAPTURE]) agree(args, options, ours(args, options));
    }
  });

  await t.step("the result has no prototype, as node:util's", () => {
    assert.equal(Object.getPrototypeOf(parseArgs(["--full"], ANALYZE).values), null);
  });
});
