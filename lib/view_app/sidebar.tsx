/// <reference lib="dom" />
/** The left column: sessions, the open session's facts, its conversations, or search hits. */
import type {
  ConvSummary,
  OpenSession,
  OtherExchange,
  SearchHit,
  SessionSummary,
} from "./types.ts";
import { fmtCost, fmtCostShort, fmtDur, fmtInt, fmtTime, pct, plural } from "./format.ts";

export interface SidebarProps {
  sessions: SessionSummary[];
  sid: string | null;
  session: OpenSession | null;
  conv: number | null;
  hits: SearchHit[] | null;
  query: string;
  onSession(id: string): void;
  onConv(id: number): void;
  onHit(hit: SearchHit): void;
  onClearSearch(): void;
  /** The open session's exchanges that are no model turn, and how many there are. */
  others: OtherExchange[];
  otherCount: number;
  exchange: number | null;
  onExchange(index: number): void;
}

function Hits(p: SidebarProps) {
  const hits = p.hits ?? [];
  return (
    <nav class="side" aria-label="Search results">
      <h2>Search: {hits.length} exchange{hits.length === 1 ? "" : "s"}</h2>
      <button type="button" class="link" onClick={p.onClearSearch}>clear search (Esc)</button>
      <ul class="hits">
        {hits.map((hit) => {
          const s = p.sessions.find((x) => x.id === hit.session);
          return (
            <li key={`${hit.session}:${hit.index}`}>
              <button type="button" class="hit" onClick={() => p.onHit(hit)}>
                <span class="hitwhere">
                  <b>#{hit.index}</b>
                  <span class="muted">{s ? s.agent || s.source : ""}</span>
                </span>
                {hit.snippet
                  ? (
                    <span class="snip">
                      {hit.snippet.before}
                      <mark>{hit.snippet.match}</mark>
                      {hit.snippet.after}
                    </span>
                  )
                  : <span class="snip muted">(matched in headers or field names)</span>}
              </button>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

/**
 * A capture's short name: its file name, or its folder's when the file has probe's generic
 * name (`traffic.jsonl` in a capture folder).
 */
export function captureName(source: string): string {
  const parts = source.split("/").filter(Boolean);
  const file = (parts.at(-1) ?? source).replace(/\.jsonl$/, "");
  return file === "traffic" && parts.length > 1 ? parts.at(-2)! : file;
}

function SessionsTable(p: SidebarProps) {
  return (
    <table class="sessions">
      <thead>
        <tr>
          {["Capture", "Start", "Turns", "Tokens", "Cost", "!"].map((x) => (
            <th key={x} title={x === "!" ? "problems" : undefined}>{x}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.sessions.map((s) => (
          <tr
            key={s.id}
            class={s.id === p.sid ? "sel" : ""}
            tabIndex={0}
            title={s.source}
            onClick={() => p.onSession(s.id)}
            onKeyDown={(e) => e.key === "Enter" && p.onSession(s.id)}
          >
            <td class="capture">
              <span class="cname">{captureName(s.source)}</span>
              <span class="cagent" title={fmtDur(s.durationMs)}>
                {`${s.agent || s.apis.join(", ") || "?"} · ${fmtDur(s.durationMs, true)}`}
              </span>
            </td>
            <td class="nowrap">{fmtTime(s.start).slice(5, 16)}</td>
            <td>{s.turns}</td>
            <td>{fmtInt(s.tokens.input + s.tokens.output)}</td>
            <td title={fmtCost(s.cost)}>{fmtCostShort(s.cost)}</td>
            <td class={s.problems ? "bad" : ""}>{s.problems}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Facts({ cur }: { cur: SessionSummary }) {
  return (
    <div class="sessfacts">
      <div>
        <b>{cur.agent || "capture"}</b>
        {cur.apis.length ? ` · ${cur.apis.join(", ")}` : ""}
      </div>
      <div>{`${fmtTime(cur.start)} · ${fmtDur(cur.durationMs)}`}</div>
      <div>
        {`${plural(cur.turns, "turn")} · ${fmtInt(cur.tokens.input)} in · ${
          fmtInt(cur.tokens.output)
        } out · ${fmtCost(cur.cost)}`}
      </div>
      {cur.problems
        ? (
          <div class="bad">
            {`${plural(cur.problems, "exchange")} with problems`}
          </div>
        )
        : null}
      {cur.malformed ? <div class="bad">{cur.malformed} malformed lines skipped</div> : null}
      {cur.error ? <div class="bad">{cur.error}</div> : null}
      {cur.indexing
        ? (
          <div class="muted">
            indexing… {Math.round(cur.bytesIndexed / Math.max(1, cur.size) * 100)}%
          </div>
        )
        : null}
    </div>
  );
}

function ConvTree(p: SidebarProps) {
  const convs = p.session?.conversations ?? [];
  const byId = new Map(convs.map((c) => [c.id, c]));
  const rows: { c: ConvSummary; depth: number }[] = [];
  const seen = new Set<number>();
  const visit = (c: ConvSummary, depth: number) => {
    if (seen.has(c.id)) return;
    seen.add(c.id);
    rows.push({ c, depth });
    for (const child of c.children) {
      const x = byId.get(child);
      if (x) visit(x, depth + 1);
    }
  };
  for (const c of convs) if (!c.parent || !byId.has(c.parent.conversation)) visit(c, 0);
  return (
    <ul class="convs">
      {rows.map(({ c, depth }) => (
        <li key={c.id}>
          <button
            type="button"
            class={"conv" + (c.id === p.conv && p.exchange === null ? " sel" : "")}
            style={{ paddingLeft: `${8 + depth * 16}px` }}
            onClick={() => p.onConv(c.id)}
            title={c.title}
          >
            <span class="ctitle">
              {(c.parent ? "↳ " : "") + (c.title || `(conversation ${c.id})`)}
            </span>
            <span class="cmeta">
              {`${plural(c.turnCount, "turn")} · ${c.model || c.api} · cache ${
                pct(c.cacheHitRate)
              }`}
            </span>
          </button>
        </li>
      ))}
      {convs.length === 0 ? <li class="muted none">No model conversations (yet).</li> : null}
    </ul>
  );
}

/** The exchanges that are no model turn: where failed upgrades, model lists and errors show. */
function Others(p: SidebarProps) {
  const path = (url: string) => url.replace(/^[a-z]+:\/\/[^/]*/i, "") || url;
  return (
    <>
      <h2>{`Other exchanges (${p.otherCount})`}</h2>
      <ul class="others">
        {p.others.map((x) => (
          <li key={x.index}>
            <button
              type="button"
              class={"other" + (x.index === p.exchange ? " sel" : "")}
              title={[x.url, ...x.problems].join("\n")}
              onClick={() => p.onExchange(x.index)}
            >
              <b>#{x.index}</b>
              <span class="method">{x.method}</span>
              <span class="path">{path(x.url)}</span>
              <span class={x.problems.length ? "status bad" : "status"}>{x.status}</span>
            </button>
          </li>
        ))}
        {p.otherCount > p.others.length
          ? <li class="muted none">{`… ${p.otherCount - p.others.length} more`}</li>
          : null}
      </ul>
    </>
  );
}

export function Sidebar(p: SidebarProps) {
  if (p.hits) return <Hits {...p} />;
  const cur = p.sessions.find((x) => x.id === p.sid);
  return (
    <nav class="side" aria-label="Sessions and conversations">
      {p.sessions.length > 1
        ? (
          <>
            <h2>Sessions</h2>
            <SessionsTable {...p} />
          </>
        )
        : null}
      {cur ? <Facts cur={cur} /> : null}
      <h2>Conversations</h2>
      <ConvTree {...p} />
      {p.otherCount ? <Others {...p} /> : null}
    </nav>
  );
}
