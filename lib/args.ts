/**
 * Command-line parsing: the part of node:util `parseArgs` that probe uses, with the same results
 * (`tests/args_test.ts` compares the two); errors are probe's own one-line messages.
 *
 * Why not node:util: importing it loads Node's inspect, errors and validators polyfills into
 * every start-up of probe, for a few lines of parsing.
 *
 * Supported, as in `parseArgs({ args, options, strict: true, allowPositionals: true })`:
 * string and boolean options, `short`, `multiple`, `--name=value`, `--name value`, `-x value`,
 * `-xvalue`, grouped short flags (`-ht NAME`), and `--` (everything after it is positional).
 * Not supported (probe does not use them): `default`, `tokens`, `allowNegative`, non-strict mode.
 */
import { UsageError } from "./errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  /** One character: `-x`. */
  short?: string;
  /** Collect every occurrence into an array. */
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

type Scalar<O extends OptionSpec> = O["type"] extends "string" ? string : boolean;

/** What `parseArgs` returns for each option: undefined when it is not given. */
export type ParsedValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K] extends { multiple: true } ? Scalar<T[K]>[] : Scalar<T[K]>;
};

/**
 * Parses `args` against `options`. Throws UsageError, with a one-line message, where node:util
 * throws: an unknown option, a string option without a value, a value given to a boolean
 * option, and a value that looks like an option (`--target -x`); callers add which command it
 * was.
 */
export function parseArgs<const T extends OptionSpecs>(
  args: readonly string[],
  options: T,
): { values: ParsedValues<T>; positionals: string[] } {
  // No prototype, as node:util's result: an option named like an Object method stays unset.
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const typeOf = (name: string) => Object.hasOwn(options, name) ? options[name].type : undefined;
  // A short flag without an option of its own is reported under its letter ("unknown option '-x'").
  const longFor = (short: string) =>
    Object.keys(options).find((name) => options[name].short === short) ?? short;

  const add = (name: string, rawName: string, value: string | undefined, inline: boolean) => {
    if (!Object.hasOwn(options, name)) {
      throw new UsageError(`unknown option '${rawName}'`);
    }
    const { type, multiple } = options[name];
    if (type === "string" && value === undefined) {
      throw new UsageError(`option '${rawName}' needs a value`);
    }
    if (type === "boolean" && value !== undefined) {
      throw new UsageError(`option '${rawName}' takes no value`);
    }
    // `--target -x` is more likely a forgotten value than a target named "-x". (node:util
    // refuses the same command lines; its messages span lines, these are one.)
    if (!inline && value !== undefined && value.length > 1 && value[0] === "-") {
      throw new UsageError(
        `option '${rawName}' needs a value, not the option '${value}' ` +
          `(write --${name}=${value} if that is the value)`,
      );
    }
    const v = value ?? true;
    if (multiple) ((values[name] ??= []) as unknown[]).push(v);
    else values[name] = v;
  };

  const rest = [...args];
  while (rest.length > 0) {
    const arg = rest.shift()!;
    if (arg === "--") {
      positionals.push(...rest);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positionals.push(arg); // including a lone "-" (stdout/stdin by convention)
    } else if (arg[1] !== "-") {
      const name = longFor(arg[1]);
      if (arg.length === 2) {
        // A string option takes the next argument whatever it looks like; add() then rejects
        // one that looks like an option.
        add(name, arg, typeOf(name) === "string" ? rest.shift() : undefined, false);
      } else if (typeOf(name) === "string") {
        add(name, `-${arg[1]}`, arg.slice(2), true); // -tNAME
      } else {
        // -abc is -a -b -c; a string option inside takes the rest as its value: -hfx is -h -fx.
        const expanded: string[] = [];
        for (let i = 1; i < arg.length; i++) {
          if (typeOf(longFor(arg[i])) !== "string" || i === arg.length - 1) {
            expanded.push(`-${arg[i]}`);
          } else {
            expanded.push(`-${arg.slice(i)}`);
            break;
          }
        }
        rest.unshift(...expanded);
      }
    } else if (!arg.includes("=", 3)) {
      const name = arg.slice(2);
      add(name, arg, typeOf(name) === "string" ? rest.shift() : undefined, false);
    } else {
      // As node:util: the name ends at the first "=" (so "--=a=b" names an option "").
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq);
      add(name, `--${name}`, arg.slice(eq + 1), true);
    }
  }
  return { values: values as ParsedValues<T>, positionals };
}

/**
 * {@link parseArgs} for one of probe's commands: errors name the command and its help, and an
 * empty value or argument (an unset shell variable, `-o ""`) is one, not taken as absent
 * (`--prices ""` used the built-in table) or passed on to fail later.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandArgs } from "./args.ts";
 *
 * const options = { output: { type: "string", short: "o" } } as const;
 * assert.equal(parseCommandArgs(["-o", "r.md"], options, "analyze").values.output, "r.md");
 * assert.throws(() => parseCommandArgs(["-o", ""], options, "analyze"), {
 *   message: "analyze: --output needs a non-empty value",
 * });
 * ```
 */
export function parseCommandArgs<const T extends OptionSpecs>(
  args: readonly string[],
  options: T,
  command: string,
): { values: ParsedValues<T>; positionals: string[] } {
  let parsed: { values: ParsedValues<T>; positionals: string[] };
  try {
    parsed = parseArgs(args, options);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(`${command}: ${err.message} (see probe ${command} --help)`);
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === "" || (Array.isArray(value) && value.includes(""))) {
      throw new UsageError(`${command}: --${name} needs a non-empty value`);
    }
  }
  if (parsed.positionals.includes("")) {
    throw new UsageError(`${command}: an argument is empty ("")`);
  }
  return parsed;
}
