/// <reference lib="dom" />
/** Small pieces the turn list and the chat share: bars, markers, blocks, diffs. */
import type { Block } from "../types.ts";
import type { Turn } from "./types.ts";
import { fmtInt, pct } from "./format.ts";
import { lineDiff } from "./diff.ts";

export const PARTS = ["system", "tools", "history", "toolResults", "newInput"] as const;
export const PART_LABEL: Record<(typeof PARTS)[number], string> = {
  system: "System prompt",
  tools: "Tool definitions",
  history: "Earlier history",
  toolResults: "Tool results",
  newInput: "New input",
};

export function CompositionBar({ ctx, big }: { ctx: Turn["context"]; big?: boolean }) {
  const total = PARTS.reduce((n, p) => n + ctx.tokens[p], 0) || 1;
  return (
    <div class={"bar" + (big ? " big" : "")} role="img" aria-label="context composition">
      {PARTS.filter((p) => ctx.tokens[p]).map((p) => (
        <span
          key={p}
          class={`seg ${p}`}
          style={{ width: `${(ctx.tokens[p] / total * 100).toFixed(2)}%` }}
          title={`${PART_LABEL[p]}: ${ctx.tokens[p]} tokens (${ctx.bytes[p]} bytes)`}
        />
      ))}
    </div>
  );
}

export function Legend({ ctx }: { ctx: Turn["context"] }) {
  return (
    <div class="legend">
      {PARTS.map((p) => (
        <span key={p}>
          <i class={`seg ${p}`} />
          {`${PART_LABEL[p]} ${fmtInt(ctx.tokens[p])}`}
        </span>
      ))}
      <span class="muted">
        {ctx.calibrated
          ? ` (estimated, scaled ×${ctx.factor} to the reported input)`
          : " (estimated at 4 bytes a token)"}
      </span>
    </div>
  );
}

export function CacheMarker({ t }: { t: Turn }) {
  if (t.cache.miss) {
    return (
      <span class="cache miss" title={t.cache.miss.reason}>✗ cache {pct(t.cache.hitRate)}</span>
    );
  }
  if (t.cache.hitRate === null) return <span class="cache none">cache –</span>;
  return (
    <span
      class={"cache " + (t.cache.hitRate > 0 ? "hit" : "cold")}
      title={`read ${t.cache.read}, written ${t.cache.write}`}
    >
      {t.cache.hitRate > 0 ? "✓" : "○"} cache {pct(t.cache.hitRate)}
    </span>
  );
}

/**
 * A heading that counts what follows ("SSE events (42)", "Citations (3)") starts a list that
 * is details of the exchange rather than the answer: it is shown collapsed, so a chat of many
 * turns reads as the conversation.
 */
const COUNTED = /\(\d+\)$/;

export function Blocks({ blocks }: { blocks: Block[] }) {
  const sections: { head: string | null; body: Block[] }[] = [{ head: null, body: [] }];
  for (const b of blocks) {
    if (b.kind === "heading" && COUNTED.test(b.text)) sections.push({ head: b.text, body: [] });
    else if (b.kind === "heading" && sections.at(-1)!.head !== null) {
      sections.push({ head: null, body: [b] });
    } else sections.at(-1)!.body.push(b);
  }
  return (
    <div class="blocks">
      {sections.map((sec, i) =>
        sec.head === null
          ? <BlockList key={i} blocks={sec.body} />
          : (
            <details key={i} class="appendix">
              <summary>{sec.head}</summary>
              <BlockList blocks={sec.body} />
            </details>
          )
      )}
    </div>
  );
}

function BlockList({ blocks }: { blocks: Block[] }) {
  return (
    <>
      {blocks.map((b, i) => {
        switch (b.kind) {
          case "heading":
            return <h4 key={i}>{b.text}</h4>;
          case "paragraph":
            return <p key={i}>{b.text}</p>;
          case "fields":
            return (
              <dl key={i} class="fields">
                {b.rows.map(([k, v], j) => (
                  <div key={j}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            );
          case "table":
            return (
              <div key={i} class="tablewrap">
                <table>
                  <thead>
                    <tr>{b.header.map((x, j) => <th key={j}>{x}</th>)}</tr>
                  </thead>
                  <tbody>
                    {b.rows.map((r, j) => (
                      <tr key={j}>{b.header.map((_, k) => <td key={k}>{r[k] ?? ""}</td>)}</tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          case "code":
            return <pre key={i} class="code">{b.text}</pre>;
          case "list":
            return <ul key={i}>{b.items.map((x, j) => <li key={j}>{x}</li>)}</ul>;
        }
      })}
    </>
  );
}

const SIGN = { add: "+ ", del: "- ", same: "  ", fold: "  " } as const;

export function DiffView({ before, after }: { before: string; after: string }) {
  const lines = lineDiff(before, after);
  if (!lines) return <pre>{after}</pre>;
  return (
    <pre class="diff">
      {lines.map((l, i) => (
        <span key={i} class={l.op}>
          {SIGN[l.op]}
          {l.words
            ? l.words.map((w, j) => w.changed ? <mark key={j}>{w.text}</mark> : w.text)
            : l.text}
          {"\n"}
        </span>
      ))}
    </pre>
  );
}
