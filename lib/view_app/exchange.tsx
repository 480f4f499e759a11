/// <reference lib="dom" />
/**
 * An exchange that is no model turn (a model list, telemetry, a refused upgrade, an error
 * page), opened from the "Other exchanges" list or a search hit: its request line and status,
 * its problems, the response as the renderer shows it, and the raw exchange and cURL.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type TurnDetail } from "./types.ts";
import { Blocks } from "./parts.tsx";
import { Actions, ExchangeTitle, type RawOpen } from "./chat.tsx";

export interface ExchangeProps {
  sid: string;
  index: number;
  problems: string[];
  raw: RawOpen;
  onRaw(raw: RawOpen): void;
  onCopy(text: string): void;
  copied: string;
}

export function ExchangeView(p: ExchangeProps) {
  const [d, setD] = useState<TurnDetail | null | "failed">(null);
  useEffect(() => {
    let stale = false;
    setD(null);
    api<TurnDetail>(`api/turn?s=${encodeURIComponent(p.sid)}&i=${p.index}&prev=0`)
      .then((x) => !stale && setD(x))
      .catch(() => !stale && setD("failed"));
    return () => {
      stale = true;
    };
  }, [p.sid, p.index]);
  return (
    <section class="detail" aria-label="Exchange">
      <article class="turn sel exchange">
        {d === null
          ? <p class="muted loadingturn">Loading…</p>
          : d === "failed"
          ? <p class="bad">{`Exchange #${p.index} could not be loaded.`}</p>
          : (
            <>
              <div class="dhead">
                <ExchangeTitle d={d} />
                <div class="stats">
                  <span>not a model call this viewer shows as a turn</span>
                </div>
                {p.problems.length
                  ? <ul class="problems">{p.problems.map((x, i) => <li key={i}>{x}</li>)}</ul>
                  : null}
              </div>
              <div class="msg assistant response">
                {d.responseProblems.length
                  ? (
                    <ul class="problems">
                      {d.responseProblems.map((x, i) => <li key={i}>{x}</li>)}
                    </ul>
                  )
                  : null}
                <Blocks blocks={d.response} />
              </div>
              <Actions d={d} raw={p.raw} onRaw={p.onRaw} onCopy={p.onCopy} copied={p.copied} />
            </>
          )}
      </article>
    </section>
  );
}
