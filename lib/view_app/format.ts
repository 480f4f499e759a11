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

export function fmtDur(ms: N): string {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`
    : s >= 60
    ? `${Math.floor(s / 60)} min ${s % 60} s`
    : `${s} s`;
}

export const fmtTime = (t: N): string =>
  t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–";

export const pct = (r: N): string =>
  r === null || r === undefined ? "–" : Math.round(r * 100) + "%";

/** A duration in a narrow table cell: 38s, 7m, 2h5m. */
export function fmtDurShort(ms: N): string {
  if (ms === null || ms === undefined) return "–";
  const s = Math.round(ms / 1000);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${Math.floor(s % 3600 / 60)}m`
    : s >= 60
    ? `${Math.floor(s / 60)}m`
    : `${s}s`;
}

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
