/**
 * SIGINT/SIGTERM/SIGHUP while a capture runs: probe must not die with its mitmdumps and the
 * command still running. Listening from before the first mitmdump starts until the last one
 * stopped, this records that a stop was asked for, counts the signals (a second one forces)
 * and lets the caller act on each.
 */
// SIGHUP: a closed terminal or dropped SSH session stops the capture like Ctrl+C.
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** What to do on the n-th stop signal (n counts from 1). */
export type SignalHandler = (signal: Deno.Signal, n: number) => void;

export class StopSignals implements Disposable {
  /** The first stop signal received, if any. */
  received: Deno.Signal | null = null;
  /** How many stop signals arrived. */
  count = 0;
  /** Resolves with the first stop signal. */
  readonly first: Promise<Deno.Signal>;
  #listeners: [Deno.Signal, () => void][] = [];
  #handler?: SignalHandler;

  constructor() {
    let resolve!: (s: Deno.Signal) => void;
    this.first = new Promise((r) => resolve = r);
    for (const signal of STOP_SIGNALS) {
      const listener = () => {
        this.received ??= signal;
        this.count++;
        resolve(signal);
        this.#handler?.(signal, this.count);
      };
      Deno.addSignalListener(signal, listener);
      this.#listeners.push([signal, listener]);
    }
  }

  /** From now on, calls `handler` on each stop signal (`undefined`: no more). */
  onSignal(handler: SignalHandler | undefined): void {
    this.#handler = handler;
  }

  [Symbol.dispose](): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners = [];
  }
}

/**
 * Whether probe runs as a terminal's foreground job: then a Ctrl+C (SIGINT) or a hangup
 * (SIGHUP) reached every process of its group, the command it started included, and passing
 * the signal on would give the command a second one. Linux reads its process group and the
 * terminal's foreground group from /proc/self/stat; elsewhere a terminal on stdin is taken
 * as the sign.
 */
export function inTerminalForeground(): boolean {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    // pid (comm) state ppid pgrp session tty_nr tpgid ...; comm may hold spaces and ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const tpgid = Number(fields[5]);
    return tpgid > 0 && tpgid === pgrp;
  } catch {
    try {
      return Deno.stdin.isTerminal();
    } catch {
      return false;
    }
  }
}
