// The HTML report's only script (its hash is in the page's Content-Security-Policy).
// Capture data reaches the page only as already-escaped markup: this script reads it with
// textContent and dataset, writes with textContent and Option(), and shows an exchange's
// body by cloning its inert <template>. It never parses strings as HTML.
(() => {
  "use strict";
  const byId = (id) => document.getElementById(id);
  const exchanges = Array.from(document.querySelectorAll("details.exchange"));
  const filterBox = byId("filter");
  const endpointSelect = byId("filter-endpoint");
  const statusSelect = byId("filter-status");
  const shownCount = byId("shown-count");
  /** Lower-cased searchable text of each exchange, computed on first use. */
  const searchText = new Map();

  const templateOf = (d) => d.querySelector(":scope > template");
  const isExchange = (d) => d instanceof HTMLDetailsElement && d.classList.contains("exchange");

  /** Shows an exchange's body: clones its template once, before or when it opens. */
  function render(d) {
    if (d.hasAttribute("data-rendered")) return;
    const template = templateOf(d);
    if (!template) return;
    d.setAttribute("data-rendered", "");
    d.appendChild(document.importNode(template.content, true));
  }

  function textOf(d) {
    let text = searchText.get(d);
    if (text === undefined) {
      const summary = d.querySelector(":scope > summary");
      const template = templateOf(d);
      text = ((summary ? summary.textContent : "") + "\n" +
        (template ? template.content.textContent : "")).toLowerCase();
      searchText.set(d, text);
    }
    return text;
  }

  function applyFilter() {
    const query = filterBox.value.trim().toLowerCase();
    const endpoint = endpointSelect.value;
    const status = statusSelect.value;
    let shown = 0;
    for (const d of exchanges) {
      const match = (endpoint === "" || d.dataset.path === endpoint) &&
        (status === "" || d.dataset.status === status) &&
        (query === "" || textOf(d).includes(query));
      d.hidden = !match;
      if (match) shown++;
    }
    shownCount.textContent = `${shown} of ${exchanges.length} exchanges shown`;
  }

  function resetFilter() {
    filterBox.value = "";
    endpointSelect.value = "";
    statusSelect.value = "";
    applyFilter();
  }

  /** Distinct values of a data attribute with their counts, in first-seen order. */
  function tally(key) {
    const counts = new Map();
    for (const d of exchanges) {
      const value = d.dataset[key];
      if (value !== undefined) counts.set(value, (counts.get(value) || 0) + 1);
    }
    return counts;
  }

  function fillSelect(select, counts, compare) {
    for (const value of Array.from(counts.keys()).sort(compare)) {
      select.appendChild(new Option(`${value} (${counts.get(value)})`, value));
    }
  }

  /** Status codes in numeric order, then the words (error, incomplete, ...). */
  function compareStatus(a, b) {
    const x = /^\d+$/.test(a) ? Number(a) : Infinity;
    const y = /^\d+$/.test(b) ? Number(b) : Infinity;
    return x !== y ? x - y : a < b ? -1 : a > b ? 1 : 0;
  }

  /** Opens an exchange and brings it into view, clearing a filter that hides it. */
  function reveal(d) {
    if (d.hidden) resetFilter();
    render(d);
    d.open = true;
    d.scrollIntoView({ block: "start" });
  }

  function buildConversationNav() {
    const first = new Map();
    const counts = tally("conversation");
    for (const d of exchanges) {
      const label = d.dataset.conversation;
      if (label !== undefined && !first.has(label)) first.set(label, d);
    }
    if (first.size === 0) return;
    const list = byId("conversation-list");
    for (const [label, d] of first) {
      const link = document.createElement("a");
      link.href = `#${d.id}`;
      const n = counts.get(label);
      link.textContent = `Conversation ${label || "(unnamed)"} (${n} ${
        n === 1 ? "exchange" : "exchanges"
      })`;
      link.addEventListener("click", () => reveal(d));
      const item = document.createElement("li");
      item.appendChild(link);
      list.appendChild(item);
    }
    byId("conversations").hidden = false;
  }

  /** Opens every exchange the filter shows. */
  function expandAll() {
    for (const d of exchanges) {
      if (d.hidden) continue;
      render(d);
      d.open = true;
    }
  }

  function collapseAll() {
    for (const d of exchanges) d.open = false;
  }

  /** Opens the exchange the address names (#ex-N), if it names one. */
  function revealHashTarget() {
    let id = location.hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch {
      // not percent-encoded: use it as it is
    }
    const target = id ? document.getElementById(id) : null;
    if (isExchange(target)) reveal(target);
  }

  // Render before the default action opens the <details> (no empty frame); "toggle" covers
  // every other way of opening one (keyboard, find-in-page, scripts).
  document.addEventListener("click", (event) => {
    const summary = event.target instanceof Element ? event.target.closest("summary") : null;
    const d = summary ? summary.parentElement : null;
    if (isExchange(d) && summary === d.querySelector(":scope > summary")) render(d);
  }, true);
  // A link to an exchange opens it even when the address names it already (the reader closed
  // it and clicks again): "hashchange" alone would only scroll.
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href^="#ex-"]') : null;
    const target = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (isExchange(target)) reveal(target);
  });
  document.addEventListener("toggle", (event) => {
    const d = event.target;
    if (isExchange(d) && d.open) render(d);
  }, true);

  filterBox.addEventListener("input", applyFilter);
  endpointSelect.addEventListener("change", applyFilter);
  statusSelect.addEventListener("change", applyFilter);
  byId("collapse-all").addEventListener("click", collapseAll);
  byId("expand-all").addEventListener("click", expandAll);
  addEventListener("beforeprint", expandAll);
  addEventListener("hashchange", revealHashTarget);

  fillSelect(endpointSelect, tally("path"), (a, b) => a < b ? -1 : a > b ? 1 : 0);
  fillSelect(statusSelect, tally("status"), compareStatus);
  buildConversationNav();
  byId("toolbar").hidden = false;
  applyFilter();
  revealHashTarget();
})();
