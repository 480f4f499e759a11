/// <reference lib="dom" />
/** The middle column: the open conversation's head and its turns, a virtualised list. */
import { useEffect, useRef } from "preact/hooks";
import type { ConvSummary, InflightRow, Turn } from "./types.ts";
import { fmtCost, fmtInt, fmtMs, fmtTime, pct, plural, turnKey, turnName } from "./format.ts";
import { CacheMarker, CompositionBar } from "./parts.tsx";
import { useVirtualizer } from "./virtual.ts";

/** Pixels per turn row (rows have a fixed height, so the list needs no measuring). */
const ROW = 74;

export interface TurnListProps {
  conv: ConvSummary | null;
  loading: boolean;
  turn: number | null;
  /** The turn at the top of the chat: marked, and kept in view while the chat scrolls. */
  inView: number | null;
  inflight: InflightRow[];
  onTurn(index: number): void;
}

function Row({ t, conv }: { t: Turn; conv: ConvSummary }) {
  const events = conv.events.filter((e) => e.turn === t.index && e.call === t.call);
  return (
    <>
      <div class="l1">
        <b>{turnName(t)}</b>
        {t.inProgress ? <span class="badge live">in progress</span> : null}
        <span class="muted">{fmtTime(t.start).slice(11)}</span>
        <span class="tok">
          {t.tokens ? `${fmtInt(t.tokens.input)} in · ${fmtInt(t.tokens.output)} out` : "no usage"}
        </span>
        <span>{fmtCost(t.cost)}</span>
        <span class="muted">{fmtMs(t.durationMs)}</span>
        <span class="model">{t.model || ""}</span>
      </div>
      <div class="l2">
        <CacheMarker t={t} />
        {t.cache.miss
          ? <span class="why-short">{t.cache.miss.changed ?? "prefix unchanged"}</span>
          : null}
        {events.map((e, i) => (
          <span key={i} class="badge event" title={e.detail}>{e.kind.replace("_", " ")}</span>
        ))}
        {t.problems.length
          ? (
            <span class="badge bad" title={t.problems.join("\n")}>
              {t.problems.length} problem{t.problems.length > 1 ? "s" : ""}
            </span>
          )
          : null}
      </div>
      <CompositionBar ctx={t.context} />
    </>
  );
}

export function TurnList(p: TurnListProps) {
  const turns = p.conv?.turns ?? [];
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer(scroller, {
    count: turns.length,
    estimateSize: () => ROW,
    overscan: 10,
    getItemKey: (i) => turns[i] ? turnKey(turns[i]) : i,
  });
  const at = turns.findIndex((t) => turnKey(t) === p.turn);
  useEffect(() => {
    if (at >= 0) v.scrollToIndex(at, { align: "auto" });
  }, [at, p.conv?.id]);
  const seen = turns.findIndex((t) => turnKey(t) === p.inView);
  useEffect(() => {
    if (seen >= 0) v.scrollToIndex(seen, { align: "auto" });
  }, [seen]);
  const c = p.conv;
  const now = Date.now() / 1000;
  return (
    <section class="turnsbox" aria-label="Turns">
      {c
        ? (
          <div class="convhead">
            <h1>{c.title || `Conversation ${c.id}`}</h1>
            <div class="muted">
              {`${c.api} · ${c.model || ""} · ${plural(c.turnCount, "turn")} · ${
                fmtInt(c.tokens.input)
              } in · ${fmtInt(c.tokens.output)} out · cache ${pct(c.cacheHitRate)} · ${
                fmtCost(c.cost)
              }`}
              {c.parent
                ? ` · subagent of conversation ${c.parent.conversation} (${c.parent.toolName} at #${c.parent.turn})`
                : ""}
            </div>
          </div>
        )
        : null}
      {p.inflight.length
        ? (
          <div class="inflight" aria-live="polite">
            {p.inflight.map((x) => (
              <div key={x.id} class="row live">
                <div class="l1">
                  <span class="badge live">in progress</span>
                  <b>{x.method}</b>
                  <span class="url" title={x.url}>
                    {x.url.replace(/^[a-z]+:\/\/[^/]*/i, "") || x.url}
                  </span>
                  <span class="muted">started {Math.max(0, Math.round(now - x.start))} s ago</span>
                </div>
              </div>
            ))}
          </div>
        )
        : null}
      {!c ? <p class="empty">{p.loading ? "Loading…" : "No conversation to list."}</p> : null}
      <div class="turns" tabIndex={0} ref={scroller}>
        <div class="spacer" style={{ height: `${v.getTotalSize()}px` }}>
          {c
            ? v.getVirtualItems().map((item) => {
              const t = turns[item.index];
              if (!t) return null;
              return (
                <div
                  key={turnKey(t)}
                  class={"row" + (turnKey(t) === p.turn ? " sel" : "") +
                    (turnKey(t) === p.inView ? " inview" : "") +
                    (t.problems.length ? " has-problem" : "")}
                  style={{ top: `${item.start}px`, height: `${ROW - 4}px` }}
                  data-index={turnKey(t)}
                  onClick={() => p.onTurn(turnKey(t))}
                >
                  <Row t={t} conv={c} />
                </div>
              );
            })
            : null}
        </div>
      </div>
    </section>
  );
}
