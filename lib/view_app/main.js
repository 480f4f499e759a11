// probe view: the page. Everything captured is put in the page as text (textContent), never
// as markup, and the Content-Security-Policy allows no other script: a capture cannot run code.
import { lineDiff } from "./diff.ts";

(() => {
  const PARTS = ["system", "tools", "history", "toolResults", "newInput"];
  const PART_LABEL = {
    system: "System prompt",
    tools: "Tool definitions",
    history: "Earlier history",
    toolResults: "Tool results",
    newInput: "New input",
  };
  const ROW = 74; // px per turn row (the list is virtualised)

  const state = {
    sessions: [],
    follow: false,
    session: null, // the full session model
    sid: null,
    conv: null, // conversation id
    turn: null, // exchange index
    full: false,
    detail: null,
    detailKey: "",
    hits: null,
    query: "",
    rev: -1,
  };

  // ---- DOM helpers -----------------------------------------------------------------------
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
        // Through the CSSOM: the Content-Security-Policy refuses style attributes.
        else if (k === "style") {
          for (const decl of v.split(";")) {
            const at = decl.indexOf(":");
            if (at > 0) el.style.setProperty(decl.slice(0, at).trim(), decl.slice(at + 1).trim());
          }
        } else el.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const $ = (sel) => document.querySelector(sel);
  const fmtInt = (n) =>
    n === null || n === undefined
      ? "–"
      : n >= 1e6
      ? (n / 1e6).toFixed(1) + "M"
      : n >= 1e4
      ? (n / 1e3).toFixed(1) + "k"
      : String(n);
  const fmtCost = (c) =>
    c === null || c === undefined
      ? "–"
      : c > 0 && c < 0.01
      ? "$" + c.toFixed(4)
      : "$" + c.toFixed(2);
  const fmtMs = (ms) =>
    ms === null || ms === undefined ? "–" : ms >= 1000 ? (ms / 1000).toFixed(1) + " s" : ms + " ms";
  const fmtDur = (ms) => {
    if (ms === null || ms === undefined) return "–";
    const s = Math.round(ms / 1000);
    return s >= 3600
      ? `${Math.floor(s / 3600)} h ${Math.floor(s % 3600 / 60)} min`
      : s >= 60
      ? `${Math.floor(s / 60)} min ${s % 60} s`
      : `${s} s`;
  };
  const fmtTime = (t) => t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "–";
  const pct = (r) => r === null || r === undefined ? "–" : Math.round(r * 100) + "%";

  async function api(path) {
    const res = await fetch(path, { headers: { accept: "application/json" } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return res.json();
  }

  // ---- data ------------------------------------------------------------------------------
  function conversations() {
    return state.session ? state.session.conversations : [];
  }
  function currentConv() {
    return conversations().find((c) => c.id === state.conv) || null;
  }
  function currentTurns() {
    const c = currentConv();
    return c ? c.turns : [];
  }

  /** The sessions and the open session (its open conversation's turns), in one request. */
  async function loadState() {
    const data = await api(
      `api/state?s=${encodeURIComponent(state.sid === null ? "" : state.sid)}&c=${
        state.conv === null ? "" : state.conv
      }`,
    );
    state.rev = data.rev;
    state.sessions = data.sessions;
    state.follow = data.follow;
    state.sid = data.sid;
    state.session = data.session;
    if (data.conv !== state.conv) {
      state.conv = data.conv;
      state.turn = null;
    }
    const turns = currentTurns();
    if (turns.length > 0 && !turns.some((t) => t.index === state.turn)) state.turn = turns[0].index;
  }
  const loadSession = loadState;

  async function loadDetail() {
    const turns = currentTurns();
    const at = turns.findIndex((t) => t.index === state.turn);
    if (at === -1) {
      state.detail = null;
      return;
    }
    const t = turns[at];
    const prev = at > 0 ? turns[at - 1].index : 0;
    const key = `${state.sid}:${t.index}:${t.status}:${t.inProgress}`;
    if (state.detailKey === key) return;
    state.detail = await api(
      `api/turn?s=${encodeURIComponent(state.sid)}&i=${t.index}&prev=${prev}`,
    );
    state.detailKey = key;
  }

  // ---- rendering -------------------------------------------------------------------------
  function render() {
    const app = $("#app");
    const oldList = $(".turns");
    const scroll = oldList ? oldList.scrollTop : 0;
    const detailScroll = $(".detail") ? $(".detail").scrollTop : 0;
    app.replaceChildren(
      header(),
      h("div", { class: "layout" }, sidebar(), turnList(), detailPane()),
    );
    const list = $(".turns");
    if (list) {
      list.scrollTop = scroll;
      paintRows(list);
    }
    if ($(".detail")) $(".detail").scrollTop = detailScroll;
  }

  function header() {
    const s = state.session;
    return h(
      "header",
      { class: "top" },
      h("span", { class: "brand" }, "probe"),
      h("span", { class: "where" }, s ? `${s.source}` : ""),
      state.follow ? h("span", { class: "live", title: "following the capture" }, "● live") : null,
      h("input", {
        id: "search",
        type: "search",
        placeholder: "Search all sessions  ( / )",
        value: state.query,
        "aria-label": "Search",
        oninput: (e) => scheduleSearch(e.target.value),
      }),
      h("span", { class: "keys" }, "j/k turn · [/] conversation · f full · / search"),
    );
  }

  function sidebar() {
    const box = h("nav", { class: "side", "aria-label": "Sessions and conversations" });
    if (state.hits) {
      box.append(
        h("h2", null, `Search: ${state.hits.length} exchanges`),
        h("button", { class: "link", onclick: () => clearSearch() }, "clear search"),
      );
      const ul = h("ul", { class: "hits" });
      for (const hit of state.hits) {
        const s = state.sessions.find((x) => x.id === hit.session);
        ul.append(
          h(
            "li",
            null,
            h(
              "button",
              {
                class: "hit",
                onclick: () => openExchange(hit.session, hit.index, hit.conversation),
              },
              `#${hit.index}`,
              h("span", { class: "muted" }, ` ${s ? s.source : ""}`),
            ),
          ),
        );
      }
      box.append(ul);
      return box;
    }
    if (state.sessions.length > 1) {
      box.append(h("h2", null, "Sessions"));
      const table = h(
        "table",
        { class: "sessions" },
        h(
          "thead",
          null,
          h(
            "tr",
            null,
            ["Agent", "Start", "Time", "Turns", "Tokens", "Cost", "!"].map((x) => h("th", null, x)),
          ),
        ),
      );
      const tb = h("tbody");
      for (const s of state.sessions) {
        tb.append(h(
          "tr",
          {
            class: s.id === state.sid ? "sel" : "",
            tabindex: 0,
            title: s.source,
            onclick: () => selectSession(s.id),
          },
          h("td", null, s.agent || s.apis.join(", ") || "?"),
          h("td", { class: "nowrap" }, fmtTime(s.start).slice(5, 16)),
          h("td", null, fmtDur(s.durationMs)),
          h("td", null, String(s.turns)),
          h("td", null, fmtInt(s.tokens.input + s.tokens.output)),
          h("td", null, fmtCost(s.cost)),
          h("td", { class: s.problems ? "bad" : "" }, String(s.problems)),
        ));
      }
      table.append(tb);
      box.append(table);
    }
    const cur = state.sessions.find((x) => x.id === state.sid);
    if (cur) {
      box.append(
        h(
          "div",
          { class: "sessfacts" },
          h("div", null, h("b", null, cur.agent || "capture"), " · ", cur.apis.join(", ")),
          h("div", null, `${fmtTime(cur.start)} · ${fmtDur(cur.durationMs)}`),
          h(
            "div",
            null,
            `${cur.turns} turns · ${fmtInt(cur.tokens.input)} in · ${
              fmtInt(cur.tokens.output)
            } out · ${fmtCost(cur.cost)}`,
          ),
          cur.problems
            ? h("div", { class: "bad" }, `${cur.problems} exchanges with problems`)
            : null,
          cur.malformed
            ? h("div", { class: "bad" }, `${cur.malformed} malformed lines skipped`)
            : null,
          cur.error ? h("div", { class: "bad" }, cur.error) : null,
          cur.indexing
            ? h(
              "div",
              { class: "muted" },
              `indexing… ${Math.round(cur.bytesIndexed / Math.max(1, cur.size) * 100)}%`,
            )
            : null,
        ),
      );
    }
    box.append(h("h2", null, "Conversations"));
    const convs = conversations();
    const byId = new Map(convs.map((c) => [c.id, c]));
    const ul = h("ul", { class: "convs" });
    const item = (c, depth) => {
      const li = h(
        "li",
        null,
        h(
          "button",
          {
            class: "conv" + (c.id === state.conv ? " sel" : ""),
            style: `padding-left:${8 + depth * 16}px`,
            onclick: () => selectConv(c.id),
            title: c.title,
          },
          h(
            "span",
            { class: "ctitle" },
            (c.parent ? "↳ " : "") + (c.title || `(conversation ${c.id})`),
          ),
          h(
            "span",
            { class: "cmeta" },
            `${c.turnCount} turns · ${c.model || c.api} · cache ${pct(c.cacheHitRate)}`,
          ),
        ),
      );
      ul.append(li);
      for (const child of c.children) if (byId.has(child)) item(byId.get(child), depth + 1);
    };
    for (const c of convs) if (!c.parent || !byId.has(c.parent.conversation)) item(c, 0);
    if (convs.length === 0) ul.append(h("li", { class: "muted" }, "No model conversations (yet)."));
    box.append(ul);
    return box;
  }

  function compositionBar(ctx, big) {
    const total = PARTS.reduce((n, p) => n + ctx.tokens[p], 0) || 1;
    const bar = h("div", {
      class: "bar" + (big ? " big" : ""),
      role: "img",
      "aria-label": "context composition",
    });
    for (const p of PARTS) {
      const v = ctx.tokens[p];
      if (!v) continue;
      bar.append(h("span", {
        class: `seg ${p}`,
        style: `width:${(v / total * 100).toFixed(2)}%`,
        title: `${PART_LABEL[p]}: ${v} tokens (${ctx.bytes[p]} bytes)`,
      }));
    }
    return bar;
  }

  function cacheMarker(t) {
    if (t.cache.miss) {
      return h(
        "span",
        { class: "cache miss", title: t.cache.miss.reason },
        `✗ cache ${pct(t.cache.hitRate)}`,
      );
    }
    if (t.cache.hitRate === null) return h("span", { class: "cache none" }, "cache –");
    return h("span", {
      class: "cache " + (t.cache.hitRate > 0 ? "hit" : "cold"),
      title: `read ${t.cache.read}, written ${t.cache.write}`,
    }, `${t.cache.hitRate > 0 ? "✓" : "○"} cache ${pct(t.cache.hitRate)}`);
  }

  function turnRow(t, n) {
    const c = currentConv();
    const events = c ? c.events.filter((e) => e.turn === t.index) : [];
    return h(
      "div",
      {
        class: "row" + (t.index === state.turn ? " sel" : "") +
          (t.problems.length ? " has-problem" : ""),
        style: `top:${n * ROW}px;height:${ROW - 4}px`,
        "data-index": t.index,
        onclick: () => selectTurn(t.index),
      },
      h(
        "div",
        { class: "l1" },
        h("b", null, `#${t.index}`),
        t.inProgress ? h("span", { class: "badge live" }, "in progress") : null,
        h("span", { class: "muted" }, fmtTime(t.start).slice(11)),
        h("span", null, t.model || ""),
        h(
          "span",
          { class: "tok" },
          t.tokens ? `${fmtInt(t.tokens.input)} in · ${fmtInt(t.tokens.output)} out` : "no usage",
        ),
        h("span", null, fmtCost(t.cost)),
        h("span", { class: "muted" }, fmtMs(t.durationMs)),
      ),
      h(
        "div",
        { class: "l2" },
        cacheMarker(t),
        t.cache.miss
          ? h("span", { class: "why-short" }, t.cache.miss.changed ?? "prefix unchanged")
          : null,
        events.map((e) =>
          h("span", { class: "badge event", title: e.detail }, e.kind.replace("_", " "))
        ),
        t.problems.length
          ? h(
            "span",
            { class: "badge bad", title: t.problems.join("\n") },
            `${t.problems.length} problem${t.problems.length > 1 ? "s" : ""}`,
          )
          : null,
      ),
      compositionBar(t.context, false),
    );
  }

  function turnList() {
    const turns = currentTurns();
    const c = currentConv();
    const wrap = h("section", { class: "turnsbox", "aria-label": "Turns" });
    if (c) {
      wrap.append(
        h(
          "div",
          { class: "convhead" },
          h("h1", null, c.title || `Conversation ${c.id}`),
          h(
            "div",
            { class: "muted" },
            `${c.api} · ${c.model || ""} · ${c.turnCount} turns · ${fmtInt(c.tokens.input)} in · ${
              fmtInt(c.tokens.output)
            } out · cache ${pct(c.cacheHitRate)} · ${fmtCost(c.cost)}`,
            c.parent
              ? ` · subagent of conversation ${c.parent.conversation} (${c.parent.toolName} at #${c.parent.turn})`
              : "",
          ),
        ),
      );
    }
    const cur = state.sessions.find((x) => x.id === state.sid);
    if (cur && cur.inflight && cur.inflight.length) {
      const now = Date.now() / 1000;
      wrap.append(h(
        "div",
        { class: "inflight", "aria-live": "polite" },
        cur.inflight.map((x) =>
          h(
            "div",
            { class: "row live" },
            h(
              "div",
              { class: "l1" },
              h("span", { class: "badge live" }, "in progress"),
              h("b", null, x.method),
              h("span", { class: "url" }, x.url),
              h(
                "span",
                { class: "muted" },
                `started ${Math.max(0, Math.round(now - x.start))} s ago`,
              ),
            ),
          )
        ),
      ));
    }
    const list = h("div", { class: "turns", tabindex: 0, onscroll: (e) => paintRows(e.target) });
    list.append(h("div", { class: "spacer", style: `height:${turns.length * ROW}px` }));
    wrap.append(list);
    if (!c) {
      wrap.append(
        h("p", { class: "empty" }, state.session ? "No conversation selected." : "Loading…"),
      );
    }
    return wrap;
  }

  /** Only the rows in view (and a screen either side) are in the DOM. */
  function paintRows(list) {
    const turns = currentTurns();
    const spacer = list.firstChild;
    const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 10);
    const last = Math.min(turns.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + 10);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(turnRow(turns[i], i));
    spacer.replaceChildren(...rows);
  }

  function blocksView(blocks) {
    const out = h("div", { class: "blocks" });
    for (const b of blocks) {
      switch (b.kind) {
        case "heading":
          out.append(h("h4", null, b.text));
          break;
        case "paragraph":
          out.append(h("p", null, b.text));
          break;
        case "fields":
          out.append(
            h(
              "dl",
              { class: "fields" },
              b.rows.map(([k, v]) => h("div", null, h("dt", null, k), h("dd", null, v))),
            ),
          );
          break;
        case "table":
          out.append(
            h(
              "div",
              { class: "tablewrap" },
              h(
                "table",
                null,
                h("thead", null, h("tr", null, b.header.map((x) => h("th", null, x)))),
                h(
                  "tbody",
                  null,
                  b.rows.map((r) =>
                    h("tr", null, b.header.map((_, i) => h("td", null, r[i] ?? "")))
                  ),
                ),
              ),
            ),
          );
          break;
        case "code":
          out.append(h("pre", { class: "code" }, b.text));
          break;
        case "list":
          out.append(h("ul", null, b.items.map((x) => h("li", null, x))));
          break;
      }
    }
    return out;
  }

  function itemView(it, results) {
    const cls = `msg ${it.role} ${it.kind}`;
    if (it.kind === "tool_call") {
      const res = it.callId ? results.get(it.callId) : undefined;
      const sub = it.callId
        ? conversations().find((c) => c.parent && c.parent.callId === it.callId)
        : undefined;
      return h(
        "div",
        { class: cls },
        h(
          "div",
          { class: "who" },
          `tool call · ${it.name || "?"}`,
          it.callId ? h("span", { class: "muted" }, ` ${it.callId}`) : null,
        ),
        h("pre", { class: "args" }, it.text),
        res
          ? h(
            "details",
            { class: "result", open: true },
            h("summary", null, "result"),
            h("pre", null, res.text),
          )
          : null,
        sub
          ? h(
            "button",
            { class: "btn subagent", onclick: () => selectConv(sub.id) },
            `↳ subagent thread: ${sub.title || "conversation " + sub.id} (${sub.turnCount} turns)`,
          )
          : null,
      );
    }
    if (it.kind === "tool_result" && it.paired) return null;
    if (it.kind === "reasoning") {
      return h(
        "details",
        { class: cls },
        h("summary", null, `${it.role} reasoning`),
        h("pre", null, it.text),
      );
    }
    return h(
      "div",
      { class: cls },
      h(
        "div",
        { class: "who" },
        it.kind === "text" ? it.role : `${it.role} · ${it.kind.replace("_", " ")}`,
      ),
      h("div", { class: "text" }, it.text),
    );
  }

  function diffView(before, after) {
    const lines = lineDiff(before, after);
    if (!lines) return h("pre", null, after);
    return h(
      "pre",
      { class: "diff" },
      lines.map((l) =>
        h(
          "span",
          { class: l.op },
          (l.op === "add" ? "+ " : l.op === "del" ? "- " : "  ") + l.text + "\n",
        )
      ),
    );
  }

  function detailPane() {
    const pane = h("section", { class: "detail", "aria-label": "Turn" });
    const d = state.detail;
    const t = currentTurns().find((x) => x.index === state.turn);
    if (!d || !t) {
      pane.append(h("p", { class: "empty" }, t ? "Loading…" : "Select a turn."));
      return pane;
    }
    pane.append(
      h(
        "div",
        { class: "dhead" },
        h(
          "h2",
          null,
          `#${d.index} ${d.method} `,
          h("span", { class: "url" }, d.url),
          ` → ${d.status}`,
        ),
        h(
          "div",
          { class: "stats" },
          h("span", null, t.model || ""),
          t.tokens
            ? h(
              "span",
              null,
              `input ${t.tokens.input} (cached ${t.tokens.cached}, written ${t.tokens.cacheWrite}) · output ${t.tokens.output} (reasoning ${t.tokens.reasoning})`,
            )
            : h("span", null, "no usage reported"),
          h("span", null, `cost ${fmtCost(t.cost)}`),
          h("span", null, `first byte ${fmtMs(t.ttfbMs)} · total ${fmtMs(t.durationMs)}`),
        ),
        compositionBar(t.context, true),
        h(
          "div",
          { class: "legend" },
          PARTS.map((p) =>
            h(
              "span",
              null,
              h("i", { class: `seg ${p}` }),
              `${PART_LABEL[p]} ${fmtInt(t.context.tokens[p])}`,
            )
          ),
          h(
            "span",
            { class: "muted" },
            t.context.calibrated
              ? ` (estimated, scaled ×${t.context.factor} to the reported input)`
              : " (estimated at 4 bytes a token)",
          ),
        ),
        t.cache.miss ? h("div", { class: "why miss" }, "Cache miss: ", t.cache.miss.reason) : null,
        t.inProgress
          ? h("div", { class: "why live" }, "This exchange is still in progress.")
          : null,
        t.problems.length
          ? h("ul", { class: "problems" }, t.problems.map((p) => h("li", null, p)))
          : null,
      ),
    );

    if (d.system) {
      pane.append(
        h(
          "details",
          { class: "sys" + (d.system.changed ? " changed" : "") },
          h(
            "summary",
            null,
            d.system.changed
              ? "System prompt (changed since the previous turn)"
              : `System prompt (${d.system.text.length} characters)`,
          ),
          d.system.previous !== null
            ? diffView(d.system.previous, d.system.text)
            : h("pre", null, d.system.text),
        ),
      );
    }
    if (d.tools && d.tools.names.length) {
      const ch = [
        d.tools.added.length ? `added ${d.tools.added.join(", ")}` : "",
        d.tools.removed.length ? `removed ${d.tools.removed.join(", ")}` : "",
        d.tools.changed.length ? `changed ${d.tools.changed.join(", ")}` : "",
      ].filter(Boolean).join("; ");
      pane.append(
        h(
          "details",
          { class: "sys" + (ch ? " changed" : "") },
          h("summary", null, `Tools (${d.tools.names.length})${ch ? ": " + ch : ""}`),
          h("p", { class: "toolnames" }, d.tools.names.join(" · ")),
        ),
      );
    }
    const items = d.items.map((it) => ({ ...it }));
    const results = new Map();
    for (const it of items) if (it.kind === "tool_result" && it.callId) results.set(it.callId, it);
    for (const it of items) {
      if (it.kind === "tool_call" && it.callId && results.has(it.callId)) {
        results.get(it.callId).paired = true;
      }
    }
    const from = state.full ? 0 : t.newFrom;
    pane.append(
      h(
        "div",
        { class: "reqhead" },
        h(
          "h3",
          null,
          state.full
            ? `Request: all ${items.length} items`
            : `Request: ${items.length - from} new of ${items.length} items`,
        ),
        h(
          "button",
          { class: "btn", onclick: () => toggleFull() },
          state.full ? "only what is new" : "full request",
        ),
      ),
    );
    const chat = h("div", { class: "chat" });
    if (!state.full && from > 0) {
      chat.append(h("div", { class: "muted fold" }, `… ${from} earlier items unchanged`));
    }
    // A call shown as history has its result shown with it, so pairing looks at all items.
    for (let i = from; i < items.length; i++) {
      const v = itemView(items[i], results);
      if (v) chat.append(v);
    }
    pane.append(chat);
    pane.append(h("h3", null, "Response"));
    const resp = h("div", { class: "msg assistant response" });
    if (d.responseProblems.length) {
      resp.append(h("ul", { class: "problems" }, d.responseProblems.map((p) => h("li", null, p))));
    }
    resp.append(blocksView(d.response));
    pane.append(resp);
    pane.append(
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          { class: "btn", onclick: (e) => copy(d.curl, e.target) },
          "Copy as cURL (redacted)",
        ),
        h("details", null, h("summary", null, "cURL"), h("pre", null, d.curl)),
        h(
          "details",
          null,
          h("summary", null, "Raw request (redacted)"),
          h("pre", null, d.raw.request),
        ),
        h(
          "details",
          null,
          h("summary", null, "Raw response (redacted)"),
          h("pre", null, d.raw.response),
        ),
      ),
    );
    return pane;
  }

  async function copy(text, button) {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed: select the text below";
    }
  }

  // ---- actions ---------------------------------------------------------------------------
  async function refreshDetail() {
    try {
      await loadDetail();
    } catch (err) {
      state.detail = null;
      console.error(err);
    }
    render();
  }
  async function selectSession(id) {
    state.sid = id;
    state.conv = null;
    state.turn = null;
    await loadSession();
    await refreshDetail();
  }
  async function selectConv(id) {
    state.conv = id;
    await loadSession();
    const turns = currentTurns();
    state.turn = turns.length ? turns[0].index : null;
    await refreshDetail();
    const list = $(".turns");
    if (list) list.scrollTop = 0;
    paintRows($(".turns"));
  }
  async function selectTurn(index) {
    state.turn = index;
    render();
    await refreshDetail();
    ensureVisible();
  }
  function ensureVisible() {
    const list = $(".turns");
    if (!list) return;
    const at = currentTurns().findIndex((t) => t.index === state.turn);
    if (at === -1) return;
    if (at * ROW < list.scrollTop) list.scrollTop = at * ROW;
    else if ((at + 1) * ROW > list.scrollTop + list.clientHeight) {
      list.scrollTop = (at + 1) * ROW - list.clientHeight;
    }
    paintRows(list);
  }
  function toggleFull() {
    state.full = !state.full;
    render();
  }
  async function openExchange(sid, index, conv) {
    state.sid = sid;
    state.conv = conv;
    await loadSession();
    state.turn = index;
    await refreshDetail();
    ensureVisible();
  }
  let searchTimer;
  function scheduleSearch(q) {
    state.query = q;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      if (q.trim() === "") {
        state.hits = null;
      } else {
        const data = await api(`api/search?q=${encodeURIComponent(q.trim())}`);
        if (state.query !== q) return;
        state.hits = data.hits;
      }
      render();
      const box = $("#search");
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }, 250);
  }
  function clearSearch() {
    state.query = "";
    state.hits = null;
    render();
  }
  function step(list, current, d) {
    const at = list.findIndex((x) => x === current);
    const next = Math.min(list.length - 1, Math.max(0, at + d));
    return list[next];
  }

  document.addEventListener("keydown", (e) => {
    const typing = e.target instanceof HTMLInputElement;
    if (e.key === "Escape") {
      if (typing) e.target.blur();
      if (state.hits) clearSearch();
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const turns = currentTurns().map((t) => t.index);
    const convs = conversations().map((c) => c.id);
    if (e.key === "j" || e.key === "ArrowDown") {
      if (turns.length) selectTurn(step(turns, state.turn, 1));
    } else if (e.key === "k" || e.key === "ArrowUp") {
      if (turns.length) selectTurn(step(turns, state.turn, -1));
    } else if (e.key === "]" || e.key === "n") {
      if (convs.length) selectConv(step(convs, state.conv, 1));
    } else if (e.key === "[" || e.key === "p") {
      if (convs.length) selectConv(step(convs, state.conv, -1));
    } else if (e.key === "f") {
      toggleFull();
    } else if (e.key === "/") {
      $("#search").focus();
    } else return;
    e.preventDefault();
  });

  // ---- live ------------------------------------------------------------------------------
  let updating = false;
  let again = false;
  async function update() {
    if (updating) {
      again = true;
      return;
    }
    updating = true;
    try {
      do {
        again = false;
        await loadState();
        await loadDetail();
        render();
      } while (again);
    } catch (err) {
      console.error(err);
    } finally {
      updating = false;
    }
  }

  async function start() {
    await update();
    const events = new EventSource("api/events");
    // The first event tells the revision at connection time: nothing new if the page has it.
    events.addEventListener("update", (e) => {
      if (Number(e.data) !== state.rev) update();
    });
  }
  start();
})();
