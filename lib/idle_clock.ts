/**
 * Capture time as the analysis judges idleness by: conversations idle for an hour of it are
 * forgotten (lib/conversation.ts, lib/model/build.ts).
 */
import type { Entry } from "./types.ts";

/** When an exchange was last active: its end (a WebSocket's last frame), or its start. */
export function lastActive(entry: Entry): number {
  return entry.timing?.end ?? entry.timing?.start ?? entry.timestamp;
}

/**
 * Whether `t` can be a capture time in epoch seconds. Later than 1e11 (the year 5138) it is
 * milliseconds or a clock gone wrong: one such entry made every conversation look idle for
 * centuries (found by hostile testing).
 */
export function isCaptureTime(t: number | undefined): t is number {
  return t !== undefined && Number.isFinite(t) && t < 1e11;
}

/**
 * The time idleness is judged at. One request's own time is not enough: an entry whose clock
 * was a day ahead, then back, made every conversation but the 64 latest look idle and split
 * them (hostile testing). Time moves on only as far as two conversations agree: the judge is the
 * earlier of this request's time and the latest time of another conversation. A capture that
 * resumes the next day forgets yesterday's conversations once a second one is active.
 */
export class IdleClock {
  #lastKey: unknown = undefined;
  #lastAt: number | undefined;
  #otherAt: number | undefined;

  /**
   * Notes `key` (a conversation) active at `at`; returns the time to judge idleness at, or
   * undefined when `at` is no capture time.
   */
  tick(key: unknown, at: number | undefined): number | undefined {
    if (!isCaptureTime(at)) return undefined;
    if (key !== this.#lastKey) {
      this.#otherAt = this.#lastAt;
      this.#lastKey = key;
    }
    this.#lastAt = at;
    return this.#otherAt === undefined ? at : Math.min(at, this.#otherAt);
  }
}

/**
 * What stays remembered, least recently active first: at most `cap`, and beyond the `floor`
 * most recent, none idle for more than `idleSeconds`.
 */
export interface RecencyBounds {
  cap: number;
  floor: number;
  idleSeconds: number;
}

/**
 * Whether the least recently active of `size` remembered ones, last active at `at`, is to go,
 * idleness judged at `now` ({@link IdleClock.tick}; undefined: by count only).
 */
export function overdue(
  size: number,
  at: number | undefined,
  now: number | undefined,
  bounds: RecencyBounds,
): boolean {
  if (size > bounds.cap) return true;
  return now !== undefined && at !== undefined && size > bounds.floor &&
    now - at > bounds.idleSeconds;
}
