/**
 * SIGINT/SIGTERM/SIGHUP while a capture runs: probe must not die with its mitmdumps and the
 * command still running. Listening from before the first mitmdump starts until the last one
 * stopped, this records that a stop was asked for and lets the caller pass it on.
 */
// SIGHUP: a closed terminal or dropped SSH session stops the capture like Ctrl+C.
const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export class StopSignals implements Disposable {
  /** The first stop signal received, if any. */
  received: Deno.Signal | null = null;
  /** Resolves with the first stop signal. */
  readonly first: Promise<Deno.Signal>;
  #listeners: [Deno.Signal, () => void][] = [];
  #forward?: (signal: Deno.Signal) => void;

  constructor() {
    let resolve!: (s: Deno.Signal) => void;
    this.first = new Promise((r) => resolve = r);
    for (const signal of STOP_SIGNALS) {
      const listener = () => {
        this.received ??= signal;
        resolve(signal);
        this.#forward?.(signal);
      };
      Deno.addSignalListener(signal, listener);
      this.#listeners.push([signal, listener]);
    }
  }

  /** From now on, passes each stop signal to `forward` (e.g. the all-in-one command). */
  forwardTo(forward: ((signal: Deno.Signal) => void) | undefined): void {
    this.#forward = forward;
  }

  [Symbol.dispose](): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners = [];
  }
}
