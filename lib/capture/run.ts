/**
 * The all-in-one command: the target's arguments inserted after argv[0] when its program
 * matches, the target's env laid over the user's, stdio inherited.
 */
import { ProbeError } from "../errors.ts";
import { fillAll, type PortMap } from "../placeholders.ts";
import type { Target } from "../types.ts";

/** argv with the target's `commandArgs` inserted after argv[0] when the program matches. */
export function buildCommand(argv: readonly string[], target: Target, ports: PortMap): string[] {
  const extra = target.commandArgs;
  if (!extra || argv.length === 0) return [...argv];
  const program = argv[0].split(/[\\/]/).pop()!.replace(/\.(exe|cmd|bat|js)$/i, "");
  if (program !== extra.program) return [...argv];
  return [argv[0], ...fillAll(extra.args, ports), ...argv.slice(1)];
}

/** The command could not be started: nothing ran, so nothing was recorded. */
export class CommandNotRun extends ProbeError {}

/** Spawns the command; a missing program is exit 127, a non-executable one 126. */
export function spawnCommand(
  argv: readonly string[],
  env: Record<string, string>,
): Deno.ChildProcess {
  try {
    return new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CommandNotRun(
        `command not found: ${
          argv[0]
        }: install it or check PATH (proxies stopped, nothing was run)`,
        { exitCode: 127, cause: err },
      );
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new CommandNotRun(
        `cannot run ${argv[0]}: permission denied (is it executable?); proxies stopped`,
        { exitCode: 126, cause: err },
      );
    }
    throw new CommandNotRun(`cannot run ${argv[0]}: ${(err as Error).message}`, {
      exitCode: 126,
      cause: err,
    });
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/** The shell's convention: the code, or 128 + signal number. */
export function exitCodeOf(status: Deno.CommandStatus): number {
  if (status.signal) return 128 + (SIGNALS[status.signal] ?? 1);
  return status.code;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\-.,/:=@%+]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
