/**
 * lib/args.ts against node:util `parseArgs`, which it replaces on the start-up path: the same
 * values, positionals and error messages for the option sets main.ts and `probe capture` use.
 */
import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { type OptionSpecs, parseArgs } from "../lib/args.ts";
import { UsageError } from "../lib/errors.ts";

/** `probe analyze`'s options (main.ts). */
const ANALYZE = {
  target: { type: "string", short: "t" },
  input: { type: "string", short: "i" },
  output: { type: "string", short: "o" },
  format: { type: "string", short: "f" },
  full: { type: "boolean" },
  renderer: { type: "string" },
  prices: { type: "string" },
  strict: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

/** `probe capture`'s options (lib/capture/args.ts). */
const CAPTURE = {
  "output-dir": { type: "string", short: "o" },
  "port": { type: "string", multiple: true },
  "upstream": { type: "string", multiple: true },
  "upstream-proxy": { type: "string" },
  "upstream-ca": { type: "string" },
  "analyze": { type: "boolean" },
  "keep-secrets": { type: "boolean" },
  "mitmdump": { type: "string" },
  "help": { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

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

/** Asserts lib/args.ts and node:util agree, and that the result is `expected`. */
function same(args: string[], options: OptionSpecs, expected: Result): void {
  const got = ours(args, options);
  assert.deepEqual(got, reference(args, options), "differs from node:util");
  assert.deepEqual(got, expected);
}

const unknown = (raw: string) => ({
  error: `Unknown option '${raw}'. To specify a positional argument starting with a '-', ` +
    `place it at the end of the command after '--', as in '-- ${JSON.stringify(raw)}`,
});

Deno.test("parseArgs matches node:util parseArgs", async (t) => {
  await t.step("string options: --name value, --name=value, -x value, -xvalue", () => {
    same(["--target", "codex", "--input=a.jsonl", "-o", "-", "-fhtml"], ANALYZE, {
      values: { target: "codex", input: "a.jsonl", output: "-", format: "html" },
      positionals: [],
    });
    // The value after "=" is taken as is, "=" and dashes included.
    same(["--target=a=b", "-i=x", "--output=--x"], ANALYZE, {
      values: { target: "a=b", input: "=x", output: "--x" },
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
    same(["--target"], ANALYZE, { error: "Option '-t, --target <value>' argument missing" });
    same(["-i"], ANALYZE, { error: "Option '-i, --input <value>' argument missing" });
    same(["--renderer"], ANALYZE, { error: "Option '--renderer <value>' argument missing" });
    same(["codex", "--port"], CAPTURE, { error: "Option '--port <value>' argument missing" });
  });

  await t.step("a boolean option with a value", () => {
    same(["--full=yes"], ANALYZE, { error: "Option '--full' does not take an argument" });
    same(["--help="], ANALYZE, { error: "Option '-h, --help' does not take an argument" });
  });

  await t.step("a value that looks like an option is refused unless given with '='", () => {
    same(["--target", "--full"], ANALYZE, {
      error: "Option '--target' argument is ambiguous.\n" +
        "Did you forget to specify the option argument for '--target'?\n" +
        "To specify an option argument starting with a dash use '--target=-XYZ'.",
    });
    same(["-t", "-x"], ANALYZE, {
      error: "Option '-t' argument is ambiguous.\n" +
        "Did you forget to specify the option argument for '-t'?\n" +
        "To specify an option argument starting with a dash use '--target=-XYZ' or '-t-XYZ'.",
    });
    same(["--output", "--"], ANALYZE, {
      error: "Option '--output' argument is ambiguous.\n" +
        "Did you forget to specify the option argument for '--output'?\n" +
        "To specify an option argument starting with a dash use '--output=-XYZ'.",
    });
    same(["-t-x", "--output=-"], ANALYZE, {
      values: { target: "-x", output: "-" },
      positionals: [],
    });
  });

  await t.step("the first problem is the one reported", () => {
    same(["--bogus", "--target"], ANALYZE, unknown("--bogus"));
    same(["--target", "--bogus"], ANALYZE, {
      error: "Option '--target' argument is ambiguous.\n" +
        "Did you forget to specify the option argument for '--target'?\n" +
        "To specify an option argument starting with a dash use '--target=-XYZ'.",
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
      for (const options of [ANALYZE, CAPTURE]) {
        assert.deepEqual(ours(args, options), reference(args, options), JSON.stringify(args));
      }
    }
  });

  await t.step("the result has no prototype, as node:util's", () => {
    assert.equal(Object.getPrototypeOf(parseArgs(["--full"], ANALYZE).values), null);
  });
});
