/** How the page writes numbers, money, durations and times. */
type N = number | null | undefined;

export const fmtInt = (n: N): string =>
  n === null || n === undefined
    ? "–"
    : n >= 1e6
    ? (n / 1e6).toFixed(1) + "M"
    : n >= 1e4
    ? (n / 1e3).toFixed(1) + "k"
    : String(n);

export const fmtCost = (c: N): string =>
  c === null || c === undefined ? "–" : c > 0 && c < 0.01 ? "$" + c.toFixed(4) : "$" + c.toFixed(2);

export const fmtMs = (ms: N): string =>
  ms === null || ms === undefined ? "–" : ms >= 1000 ? (ms / 1000).toFixed(1) + " s" : ms + " ms";

/**
 * A duration: "1 h 5 min", "7 min 12 s", "38 s"; `short` for a narrow table cell: "1h5m",
 * "7m", "38s".
 */
export function fmtDur(ms: N, short = false): string {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  const [h, m] = [Math.floor(s / 3600), Math.floor(s % 3600 / 60)];
  if (short) return h ? `${h}h${m}m` : m ? `${m}m` : `${s}s`;
  return h ? `${h} h ${m} min` : m ? `${m} min ${s % 60} s` : `${s} s`;
}

export const fmtTime = (t: N): string =>
  t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–";

export const pct = (r: N): string =>
  r === null || r === undefined ? "–" : Math.round(r * 100) + "%";

/** Money in a narrow table cell: $12, $0.07, $0.006. */
export const fmtCostShort = (c: N): string =>
  c === null || c === undefined
    ? "–"
    : c >= 10
    ? "$" + Math.round(c)
    : c > 0 && c < 0.01
    ? "$" + c.toFixed(3)
    : "$" + c.toFixed(2);

/** "1 turn", "3 turns". */
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Calls of one exchange the page tells apart (a socket of a million turns, at most). */
const CALLS_PER_EXCHANGE = 1_000_000;

/**
 * A turn's identity on the page: its exchange's number, or for one of several model calls of
 * an exchange (a WebSocket's turns share one) a negative number made of both, which no
 * exchange's number can be.
 */
export const turnKey = (t: { index: number; call?: number }): number =>
  t.call === undefined ? t.index : -(t.index * CALLS_PER_EXCHANGE + t.call);

/** How the page names a turn: "#12", or "#12.3" for call 3 of exchange 12. */
export const turnName = (t: { index: number; call?: number }): string =>
  t.call === undefined ? `#${t.index}` : `#${t.index}.${t.call}`;
