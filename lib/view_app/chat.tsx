/// <reference lib="dom" />
/**
 * The right column: the open conversation as one continuous chat, turn after turn (what each
 * request added, tool calls with their results, reasoning, the answer, tokens, cost, time and
 * the cache marker). The selected turn also shows its context composition, system prompt and
 * tools (with their diff), the full request on demand, the raw exchange and cURL. A long
 * conversation is a virtualised list of measured turns; a turn's detail is fetched when it
 * comes into view.
 */
import { useEffect, useRef } from "preact/hooks";
import type { ConvSummary, Turn, TurnDetail } from "./types.ts";
import type { FactItem } from "../types.ts";
import { fmtCost, fmtInt, fmtMs, fmtTime, plural, turnKey, turnName } from "./format.ts";
import { Blocks, CacheMarker, CompositionBar, DiffView, Legend } from "./parts.tsx";
import { useVirtualizer } from "./virtual.ts";

export type RawOpen = "request" | "response" | null;

export interface ChatProps {
  conv: ConvSummary;
  /** Every conversation of the session (subagent links). */
  convs: ConvSummary[];
  turn: number | null;
  /** Changes whenever the selected turn is to be scrolled into view. */
  focus: number;
  full: boolean;
  raw: RawOpen;
  detail(t: Turn, prev: Turn | undefined): TurnDetail | undefined;
  onTurn(index: number): void;
  onConv(id: number): void;
  onFull(): void;
  onRaw(raw: RawOpen): void;
  onCopy(text: string): void;
  copied: string;
  /** The turn at the top of the chat as it is scrolled (the turn list marks it). */
  onInView(index: number | null): void;
}

/**
 * Roles the page styles. A role is whatever the capture says, so it only becomes a class when
 * it is one of these: a capture must not restyle the page (a role "user helpback" would turn a
 * message into a full-window overlay).
 */
const ROLE_CLASSES = new Set(["user", "assistant", "model", "tool", "developer", "system"]);

const isAnswer = (it: FactItem) =>
  (it.role === "assistant" || it.role === "model") &&
  (it.kind === "text" || it.kind === "reasoning");

function Item({ it, results, convs, onConv }: {
  it: FactItem & { paired?: boolean };
  results: Map<string, FactItem>;
  convs: ConvSummary[];
  onConv(id: number): void;
}) {
  const cls = `msg ${ROLE_CLASSES.has(it.role) ? it.role : "other"} ${it.kind}`;
  if (it.kind === "tool_call") {
    const res = it.callId ? results.get(it.callId) : undefined;
    const sub = it.callId ? convs.find((c) => c.parent?.callId === it.callId) : undefined;
    return (
      <div class={cls}>
        <div class="who">
          {"tool call "}
          <span class="ident">{it.name || "?"}</span>
          {it.callId ? <span class="ident muted">{` ${it.callId}`}</span> : null}
        </div>
        <pre class="args">{it.text}</pre>
        {res
          ? (
            <details class="result" open>
              <summary>result</summary>
              <pre>{res.text}</pre>
            </details>
          )
          : null}
        {sub
          ? (
            <button type="button" class="btn subagent" onClick={() => onConv(sub.id)}>
              {`↳ subagent thread: ${sub.title || "conversation " + sub.id} (${
                plural(sub.turnCount, "turn")
              })`}
            </button>
          )
          : null}
      </div>
    );
  }
  if (it.kind === "tool_result" && it.paired) return null;
  if (it.kind === "reasoning") {
    return (
      <details class={cls}>
        <summary>{it.role} reasoning</summary>
        <pre>{it.text}</pre>
      </details>
    );
  }
  return (
    <div class={cls}>
      <div class="who">
        {it.kind === "text" ? it.role : `${it.role} · ${it.kind.replace("_", " ")}`}
      </div>
      <div class="text">{it.text}</div>
    </div>
  );
}

/** An exchange's title line: number, method, URL and status (a turn's and a non-turn's). */
export function ExchangeTitle({ d }: { d: TurnDetail }) {
  return (
    <h2>
      {`${turnName(d)} ${d.method} `}
      <span class="url">{d.url}</span>
      {` → ${d.status}`}
    </h2>
  );
}

function SelectedHead({ t, d }: { t: Turn; d: TurnDetail }) {
  return (
    <div class="dhead">
      <ExchangeTitle d={d} />
      <div class="stats">
        <span>{t.model || ""}</span>
        {t.tokens
          ? (
            <span>
              {`input ${t.tokens.input} (cached ${t.tokens.cached}, written ${t.tokens.cacheWrite}) · output ${t.tokens.output} (reasoning ${t.tokens.reasoning})`}
            </span>
          )
          : <span>no usage reported</span>}
        <span>cost {fmtCost(t.cost)}</span>
        <span>{`first byte ${fmtMs(t.ttfbMs)} · total ${fmtMs(t.durationMs)}`}</span>
      </div>
      <CompositionBar ctx={t.context} big />
      <Legend ctx={t.context} />
      {t.cache.miss ? <div class="why miss">Cache miss: {t.cache.miss.reason}</div> : null}
      {t.inProgress ? <div class="why live">This exchange is still in progress.</div> : null}
      {t.problems.length
        ? <ul class="problems">{t.problems.map((p, i) => <li key={i}>{p}</li>)}</ul>
        : null}
    </div>
  );
}

function SystemAndTools({ d }: { d: TurnDetail }) {
  const tools = d.tools;
  const ch = tools
    ? [
      tools.added.length ? `added ${tools.added.join(", ")}` : "",
      tools.removed.length ? `removed ${tools.removed.join(", ")}` : "",
      tools.changed.length ? `changed ${tools.changed.join(", ")}` : "",
    ].filter(Boolean).join("; ")
    : "";
  return (
    <>
      {d.system
        ? (
          <details class={"sys" + (d.system.changed ? " changed" : "")}>
            <summary>
              {d.system.changed
                ? "System prompt (changed since the previous turn)"
                : `System prompt (${d.system.text.length} characters)`}
            </summary>
            {d.system.previous !== null
              ? <DiffView before={d.system.previous} after={d.system.text} />
              : <pre>{d.system.text}</pre>}
          </details>
        )
        : null}
      {tools && tools.names.length
        ? (
          <details class={"sys" + (ch ? " changed" : "")}>
            <summary>{`Tools (${tools.names.length})${ch ? ": " + ch : ""}`}</summary>
            <p class="toolnames">{tools.names.join(" · ")}</p>
            {(tools.diffs ?? []).map((x) => (
              <div key={x.name} class="tooldiff">
                <h4>{`Definition of ${x.name}, changed since the previous turn`}</h4>
                <DiffView before={x.before} after={x.after} />
              </div>
            ))}
          </details>
        )
        : null}
    </>
  );
}

export function Actions({ d, raw, onRaw, onCopy, copied }: {
  d: TurnDetail;
  raw: RawOpen;
  onRaw(r: RawOpen): void;
  onCopy(text: string): void;
  copied: string;
}) {
  const rawPart = (which: "request" | "response", key: string) => (
    <details
      class={`raw-${which}`}
      open={raw === which}
      onToggle={(e: Event) => {
        const open = (e.currentTarget as HTMLDetailsElement).open;
        if (open && raw !== which) onRaw(which);
        if (!open && raw === which) onRaw(null);
      }}
    >
      <summary>
        {`Raw ${which} (redacted) `}
        <kbd>{key}</kbd>
      </summary>
      <pre>{d.raw[which]}</pre>
    </details>
  );
  return (
    <div class="actions">
      <button type="button" class="btn" onClick={() => onCopy(d.curl)}>
        {copied || "Copy as cURL (redacted)"} <kbd>c</kbd>
      </button>
      <details>
        <summary>cURL</summary>
        <pre>{d.curl}</pre>
      </details>
      {rawPart("request", "r")}
      {rawPart("response", "R")}
    </div>
  );
}

function TurnView(p: ChatProps & { t: Turn; prev: Turn | undefined; first: boolean }) {
  const { t } = p;
  const sel = turnKey(t) === p.turn;
  const d = p.detail(t, p.prev);
  const events = p.conv.events.filter((e) => e.turn === t.index && e.call === t.call);
  const head = (
    <div class="thead" onClick={() => !sel && p.onTurn(turnKey(t))}>
      <b>{turnName(t)}</b>
      {t.inProgress ? <span class="badge live">in progress</span> : null}
      <span class="muted">{fmtTime(t.start).slice(11)}</span>
      <span>{t.model || ""}</span>
      <span class="tok">
        {t.tokens
          ? `${fmtInt(t.tokens.input)} in (${fmtInt(t.tokens.cached)} cached) · ${
            fmtInt(t.tokens.output)
          } out`
          : "no usage"}
      </span>
      <span>{fmtCost(t.cost)}</span>
      <span class="muted">{fmtMs(t.durationMs)}</span>
      <CacheMarker t={t} />
      {t.cache.miss?.changed ? <span class="why-short">{t.cache.miss.changed}</span> : null}
      {events.map((e, i) => (
        <span key={i} class="badge event" title={e.detail}>{e.kind.replace("_", " ")}</span>
      ))}
      {t.problems.length ? <span class="badge bad">{t.problems.length} problems</span> : null}
    </div>
  );
  if (!d) {
    return (
      <article class={"turn" + (sel ? " sel" : "")}>
        {head}
        <p class="muted loadingturn">Loading…</p>
      </article>
    );
  }
  const items: (FactItem & { paired?: boolean })[] = d.items.map((it) => ({ ...it }));
  const results = new Map<string, FactItem & { paired?: boolean }>();
  for (const it of items) if (it.kind === "tool_result" && it.callId) results.set(it.callId, it);
  for (const it of items) {
    if (it.kind === "tool_call" && it.callId) {
      const r = results.get(it.callId);
      if (r) r.paired = true;
    }
  }
  const full = sel && p.full;
  let from = full ? 0 : Math.min(t.newFrom, items.length);
  // What a later request resends of the previous answer is shown above, as that answer.
  let echoed = 0;
  if (!full && !p.first) {
    while (from + echoed < items.length && isAnswer(items[from + echoed])) echoed++;
  }
  const shown = items.slice(from + echoed);
  from = full ? 0 : from;
  return (
    <article class={"turn" + (sel ? " sel" : "")} aria-current={sel ? "true" : undefined}>
      {sel ? <SelectedHead t={t} d={d} /> : head}
      {sel ? <SystemAndTools d={d} /> : null}
      {sel
        ? (
          <div class="reqhead">
            <h3>
              {full
                ? `Request: all ${plural(items.length, "item")}`
                : `Request: ${items.length - from} new of ${plural(items.length, "item")}`}
            </h3>
            <button type="button" class="btn" onClick={p.onFull}>
              {full ? "only what is new" : "full request"} <kbd>f</kbd>
            </button>
          </div>
        )
        : null}
      <div class="chat">
        {sel && from > 0
          ? <div class="muted fold">{`… ${plural(from, "earlier item")} unchanged`}</div>
          : null}
        {echoed > 0
          ? (
            <div class="muted fold">
              … the previous answer, resent ({echoed} item{echoed === 1 ? "" : "s"})
            </div>
          )
          : null}
        {shown.map((it, i) => (
          <Item key={i} it={it} results={results} convs={p.convs} onConv={p.onConv} />
        ))}
      </div>
      <div class="msg assistant response">
        {d.responseProblems.length
          ? <ul class="problems">{d.responseProblems.map((x, i) => <li key={i}>{x}</li>)}</ul>
          : null}
        <Blocks blocks={d.response} />
      </div>
      {sel
        ? (
          <Actions
            d={d}
            raw={p.raw}
            onRaw={p.onRaw}
            onCopy={p.onCopy}
            copied={p.copied}
          />
        )
        : null}
    </article>
  );
}

export function Chat(p: ChatProps) {
  const turns = p.conv.turns;
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer(scroller, {
    count: turns.length,
    estimateSize: () => 320,
    overscan: 2,
    getItemKey: (i) => turns[i] ? turnKey(turns[i]) : i,
    paddingEnd: 200,
  });
  const at = turns.findIndex((t) => turnKey(t) === p.turn);
  useEffect(() => {
    if (at >= 0) v.scrollToIndex(at, { align: "start" });
  }, [p.focus, p.conv.id]);
  const offset = v.scrollOffset ?? 0;
  const top = v.getVirtualItems().find((item) => item.end > offset + 1);
  const inView = top && turns[top.index] ? turnKey(turns[top.index]) : null;
  useEffect(() => p.onInView(inView), [inView]);
  return (
    <section class="detail" aria-label="Conversation" ref={scroller}>
      <div class="chatlist" style={{ height: `${v.getTotalSize()}px` }}>
        {v.getVirtualItems().map((item) => {
          const t = turns[item.index];
          if (!t) return null;
          return (
            <div
              key={turnKey(t)}
              class="vturn"
              data-index={item.index}
              ref={(el) => {
                if (el) v.measureElement(el);
              }}
              style={{ transform: `translateY(${item.start}px)` }}
            >
              <TurnView
                {...p}
                t={t}
                prev={item.index > 0 ? turns[item.index - 1] : undefined}
                first={item.index === 0}
              />
            </div>
          );
        })}
      </div>
      {turns.length === 0 ? <p class="empty">No turns yet.</p> : null}
    </section>
  );
}
