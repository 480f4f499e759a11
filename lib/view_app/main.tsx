/// <reference lib="dom" />
/**
 * probe view: the page. Preact renders everything captured as text (never as markup), and the
 * Content-Security-Policy allows no other script and no style attributes (styles are set
 * through the CSSOM): a capture cannot run code here.
 */
import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import {
  api,
  type SearchHit,
  type SessionSummary,
  type StatePayload,
  type Turn,
  type TurnDetail,
} from "./types.ts";
import { plural, turnKey } from "./format.ts";
import { Sidebar } from "./sidebar.tsx";
import { TurnList } from "./turn_list.tsx";
import { Chat, type RawOpen } from "./chat.tsx";
import { Help, KEYS } from "./help.tsx";
import { ExchangeView } from "./exchange.tsx";

/** Turn details kept in the page; a long conversation's scroll fetches more as needed. */
const MAX_DETAILS = 200;

/** A turn's detail changes when the exchange finishes: its status is part of the key. */
const detailKey = (sid: string | null, t: Turn) =>
  `${sid}:${turnKey(t)}:${t.status}:${t.inProgress}`;

/** Whether any of the selected turn shows in the chat column. */
function selectedOnScreen(): boolean {
  const chat = document.querySelector(".detail")?.getBoundingClientRect();
  const sel = document.querySelector(".detail .turn.sel")?.getBoundingClientRect();
  return !!chat && !!sel && sel.bottom > chat.top && sel.top < chat.bottom;
}

/** What the chat column says when there is no conversation to show. */
function emptyText(st: StatePayload | null, cur: SessionSummary | undefined): string {
  if (!st || !cur) return st ? "Select a session." : "Loading…";
  if (cur.error) return cur.error;
  if (cur.indexing) return "Reading the capture…";
  if (cur.exchanges === 0) {
    return st.follow ? "Waiting for the first exchange…" : "This capture has no exchanges.";
  }
  if (st.follow && (st.session?.conversations.length ?? 0) === 0) {
    return "Waiting for the first model call to finish…";
  }
  if ((st.session?.conversations.length ?? 0) > 0) return "Select a conversation.";
  return `${plural(cur.exchanges, "exchange")}, none of them a model call shown as a ` +
    "conversation: they are listed under Other exchanges.";
}

function App() {
  const [st, setSt] = useState<StatePayload | null>(null);
  const [sid, setSid] = useState<string | null>(null);
  const [conv, setConv] = useState<number | null>(null);
  const [turn, setTurn] = useState<number | null>(null);
  const [focus, setFocus] = useState(0);
  const [full, setFull] = useState(false);
  const [raw, setRaw] = useState<RawOpen>(null);
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [query, setQuery] = useState("");
  const [help, setHelp] = useState(false);
  const [copied, setCopied] = useState("");
  const [inView, setInView] = useState<number | null>(null);
  /** The event stream broke: probe stopped, or the network between went away. */
  const [offline, setOffline] = useState(false);
  /** The sessions column opened over the page (narrow windows, where it is hidden). */
  const [side, setSide] = useState(false);
  /** Counts r/R presses: each scrolls to the raw exchange, even one already open. */
  const [rawAsked, setRawAsked] = useState(0);
  /** An exchange that is no model turn, opened in the chat column instead of a conversation. */
  const [exchange, setExchange] = useState<number | null>(null);
  /** This page saw the capture live (it may have ended since). */
  const [wasLive, setWasLive] = useState(false);
  const [, setLoaded] = useState(0);
  const details = useRef(new Map<string, TurnDetail | "loading">());
  const want = useRef<{ sid: string | null; conv: number | null; turn: number | null }>({
    sid: null,
    conv: null,
    turn: null,
  });

  /** Loads the sessions and the open session (one conversation's turns) in one request. */
  const load = useCallback(async (s: string | null, c: number | null, t: number | null) => {
    want.current = { sid: s, conv: c, turn: t };
    const data = await api<StatePayload>(
      `api/state?s=${encodeURIComponent(s ?? "")}&c=${c ?? ""}`,
    );
    if (want.current.sid !== s || want.current.conv !== c) return; // a newer choice won
    const open = data.session?.conversations.find((x) => x.id === data.conv);
    const turns = open?.turns ?? [];
    const keep = turns.some((x) => turnKey(x) === want.current.turn);
    setSt(data);
    setSid(data.sid);
    setConv(data.conv);
    setTurn(keep ? want.current.turn : turns[0] ? turnKey(turns[0]) : null);
    want.current = { sid: data.sid, conv: data.conv, turn: keep ? want.current.turn : null };
  }, []);

  const detail = (t: Turn, prev: Turn | undefined): TurnDetail | undefined => {
    const key = detailKey(sid, t);
    const have = details.current.get(key);
    if (have === "loading") return undefined;
    if (have) return have;
    details.current.set(key, "loading");
    api<TurnDetail>(
      `api/turn?s=${encodeURIComponent(sid ?? "")}&i=${t.index}&c=${t.call ?? 0}` +
        `&prev=${prev?.index ?? 0}&pc=${prev?.call ?? 0}`,
    )
      .then((d) => {
        details.current.set(key, d);
        while (details.current.size > MAX_DETAILS) {
          details.current.delete(details.current.keys().next().value!);
        }
        setLoaded((n) => n + 1);
      })
      .catch((err) => {
        details.current.delete(key);
        console.error(err);
      });
    return undefined;
  };

  const session = st?.session ?? null;
  const convs = session?.conversations ?? [];
  const open = convs.find((c) => c.id === conv) ?? null;
  const turns = open?.turns ?? [];
  const cur = st?.sessions.find((x) => x.id === sid);

  const selectTurn = (index: number) => {
    setExchange(null);
    want.current.turn = index;
    setTurn(index);
    setRaw(null);
    setFocus((n) => n + 1);
  };
  // Also called from the key handler, made at the first render: the open session is read from
  // `want`, not from this render's `sid`.
  const selectConv = (id: number) => {
    setHits(null);
    setSide(false);
    setExchange(null);
    setFocus((n) => n + 1);
    load(want.current.sid, id, null).catch(console.error);
  };
  const selectSession = (id: string) => {
    setFocus((n) => n + 1);
    setSide(false);
    setExchange(null);
    load(id, null, null).catch(console.error);
  };
  const openHit = (hit: SearchHit) => {
    setFocus((n) => n + 1);
    setSide(false);
    // A hit in an exchange that is no turn opens that exchange, not some conversation.
    setExchange(hit.conversation === null ? hit.index : null);
    load(hit.session, hit.conversation, hit.index).catch(console.error);
  };
  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("Copied");
    } catch {
      setCopied("Copy failed: open cURL below and select it");
    }
    setTimeout(() => setCopied(""), 2500);
  };

  // Search: debounced, across every session.
  useEffect(() => {
    const q = query.trim();
    if (q === "") {
      setHits(null);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      api<{ hits: SearchHit[] }>(`api/search?q=${encodeURIComponent(q)}`)
        .then((data) => !stale && setHits(data.hits))
        .catch(console.error);
    }, 250);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [query]);

  // Live: the server says when the captures changed; the page reloads what it shows.
  const rev = st?.rev ?? -1;
  const revRef = useRef(rev);
  revRef.current = rev;
  useEffect(() => {
    load(null, null, null).catch(console.error);
    const events = new EventSource("api/events");
    let busy = false;
    let again = false;
    const update = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        do {
          again = false;
          await load(want.current.sid, want.current.conv, want.current.turn);
        } while (again);
      } catch (err) {
        console.error(err);
      } finally {
        busy = false;
      }
    };
    // The first event tells the revision at connection time: nothing new if the page has it.
    events.addEventListener("update", (e) => {
      setOffline(false);
      if (Number((e as MessageEvent).data) !== revRef.current) update();
    });
    // The browser reconnects by itself; until then the page says it shows what it last had.
    events.addEventListener("error", () => setOffline(true));
    return () => events.close();
  }, []);
  useEffect(() => {
    if (st?.follow) setWasLive(true);
  }, [st?.follow]);
  // "started N s ago" of the exchanges in progress counts on between updates.
  const [, tick] = useState(0);
  const inflightNow = (cur?.inflight.length ?? 0) > 0;
  useEffect(() => {
    if (!inflightNow) return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [inflightNow]);

  // Keyboard.
  const keyState = { turns, convs, turn, conv, full, raw, help, hits, open, inView };
  const keys = useRef(keyState);
  keys.current = keyState;
  useEffect(() => {
    const step = <T,>(list: T[], current: T | null, d: number) => {
      const at = current === null ? -1 : list.indexOf(current);
      return list[Math.min(list.length - 1, Math.max(0, at + d))];
    };
    const onKey = (e: KeyboardEvent) => {
      const k = keys.current;
      const typing = e.target instanceof HTMLInputElement;
      if (e.key === "Escape") {
        if (typing) (e.target as HTMLInputElement).blur();
        setSide(false);
        if (k.help) setHelp(false);
        else if (k.hits) setQuery("");
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      const ts = k.turns.map(turnKey);
      const cs = k.convs.map((c) => c.id);
      const sel = k.turns.find((t) => turnKey(t) === k.turn);
      const d = sel ? details.current.get(detailKey(want.current.sid, sel)) : undefined;
      switch (e.key) {
        case "j":
        case "ArrowDown":
        case "k":
        case "ArrowUp": {
          if (!ts.length) break;
          // After the chat was scrolled away from the selected turn, the keys go on from the
          // turn being read (the one at the chat's top), not from where the selection was.
          if (k.inView !== null && k.inView !== k.turn && !selectedOnScreen()) {
            selectTurn(k.inView);
          } else selectTurn(step(ts, k.turn, e.key === "j" || e.key === "ArrowDown" ? 1 : -1));
          break;
        }
        case "]":
        case "n":
          if (cs.length) selectConv(step(cs, k.conv, 1));
          break;
        case "[":
        case "p":
          if (cs.length) selectConv(step(cs, k.conv, -1));
          break;
        case "f":
          setFull(!k.full);
          setFocus((n) => n + 1);
          break;
        case "r":
        case "R": {
          const which = e.key === "r" ? "request" : "response";
          setRaw(k.raw === which ? null : which);
          // The selected turn may be scrolled far away (and not drawn): back to it first.
          setFocus((n) => n + 1);
          setRawAsked((n) => n + 1);
          break;
        }
        case "c":
          if (d && d !== "loading") copy(d.curl);
          break;
        case "/":
          document.getElementById("search")?.focus();
          break;
        case "?":
          setHelp(!k.help);
          break;
        default:
          return;
      }
      e.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  // The raw request or response opened by a key is scrolled to, once its turn is drawn and
  // its detail loaded (a few frames, or a request, after the key).
  useEffect(() => {
    if (!raw) return;
    let frame = 0;
    const started = performance.now();
    const go = () => {
      const el = document.querySelector(`.turn.sel .raw-${raw}`);
      if (el) el.scrollIntoView({ block: "start" });
      else if (performance.now() - started < 5000) frame = requestAnimationFrame(go);
    };
    frame = requestAnimationFrame(go);
    return () => cancelAnimationFrame(frame);
  }, [raw, rawAsked]);

  return (
    <>
      <header class="top">
        <button
          type="button"
          class="menu"
          aria-expanded={side}
          title="sessions and conversations"
          onClick={() => setSide(!side)}
        >
          ☰
        </button>
        <span class="brand">probe</span>
        <span class="where">{session?.source ?? ""}</span>
        {offline
          ? (
            <span class="offline" role="status">
              probe is not answering (stopped?): this is what it last sent
            </span>
          )
          : st?.follow
          ? <span class="live" title="following the capture">● live</span>
          : wasLive
          ? <span class="ended" role="status">capture ended</span>
          : null}
        <input
          id="search"
          type="search"
          placeholder="Search all sessions  ( / )"
          value={query}
          aria-label="Search"
          onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
        />
        <button type="button" class="keys" onClick={() => setHelp(!help)} title="keyboard keys">
          {KEYS.slice(0, 3).map((k) => k[0]).join(" · ")} · ? keys
        </button>
      </header>
      <div class={"layout" + (side || hits ? " sideopen" : "")}>
        <Sidebar
          sessions={st?.sessions ?? []}
          sid={sid}
          session={session}
          conv={conv}
          hits={hits}
          query={query}
          onSession={selectSession}
          onConv={selectConv}
          onHit={openHit}
          onClearSearch={() => setQuery("")}
          others={st?.others ?? []}
          otherCount={cur?.otherCount ?? 0}
          exchange={exchange}
          onExchange={(i) => {
            setExchange(i);
            setRaw(null);
            setSide(false);
          }}
        />
        <TurnList
          conv={open}
          loading={st === null}
          turn={turn}
          inView={open ? inView : null}
          inflight={cur?.inflight ?? []}
          onTurn={selectTurn}
        />
        {exchange !== null && sid !== null
          ? (
            <ExchangeView
              sid={sid}
              index={exchange}
              problems={st?.others.find((x) => x.index === exchange)?.problems ?? []}
              raw={raw}
              onRaw={setRaw}
              onCopy={copy}
              copied={copied}
            />
          )
          : open
          ? (
            <Chat
              conv={open}
              convs={convs}
              turn={turn}
              focus={focus}
              full={full}
              raw={raw}
              detail={detail}
              onTurn={selectTurn}
              onConv={selectConv}
              onFull={() => setFull(!full)}
              onRaw={setRaw}
              onCopy={copy}
              copied={copied}
              onInView={setInView}
            />
          )
          : (
            <section class="detail" aria-label="Conversation">
              <p class="empty">{emptyText(st, cur)}</p>
            </section>
          )}
      </div>
      {help ? <Help onClose={() => setHelp(false)} /> : null}
    </>
  );
}

const root = document.getElementById("app")!;
root.replaceChildren(); // the "Loading…" shown before the script ran
render(<App />, root);
