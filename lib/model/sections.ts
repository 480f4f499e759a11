/**
 * The analysis model as report sections (Markdown and HTML): conversations with their
 * subagents, context composition, cache misses with their reasons, and compaction and
 * model-switch events.
 */
import type { Block, ReportSection } from "../types.ts";
import { CONTEXT_PARTS, type ContextPart, type Session, type Turn } from "./types.ts";

/** Rows listed per table; the JSON model (`--format json`) has them all. */
const MAX_ROWS = 100;

const PART_LABELS: Record<ContextPart, string> = {
  system: "System prompt",
  tools: "Tool definitions",
  history: "Earlier history",
  toolResults: "Tool results",
  newInput: "New input",
};

const pct = (r: number | null) => r === null ? "" : `${Math.round(r * 100)}%`;
const money = (n: number | null) =>
  n === null ? "" : n > 0 && n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;

function capped(rows: string[][], what: string): Block[] {
  const blocks: Block[] = [];
  if (rows.length > MAX_ROWS) {
    blocks.push({
      kind: "paragraph",
      text: `First ${MAX_ROWS} of ${rows.length} ${what} (all of them in --format json).`,
    });
  }
  return blocks;
}

export function modelSections(session: Session): ReportSection[] {
  const convs = session.conversations;
  if (convs.length === 0) {
    return [{
      title: "Conversations",
      blocks: [{ kind: "paragraph", text: "No model conversations in this capture." }],
    }];
  }
  const convRows = convs.map((c) => [
    String(c.id),
    c.title,
    c.parent ? `subagent of ${c.parent.conversation} (${c.parent.toolName})` : "main",
    c.model ?? "",
    String(c.turns.length),
    String(c.tokens.input),
    String(c.tokens.output),
    pct(c.cacheHitRate),
    money(c.cost),
  ]);
  const sections: ReportSection[] = [{
    title: "Conversations",
    blocks: [
      {
        kind: "table",
        header: [
          "#",
          "First prompt",
          "Thread",
          "Model",
          "Turns",
          "Input",
          "Output",
          "Cache hit",
          "Est. cost",
        ],
        rows: convRows.slice(0, MAX_ROWS),
      },
      ...capped(convRows, "conversations"),
    ],
  }];

  // Context composition of each conversation's latest turn: what its context holds now.
  const latest = convs.map((c) => [c.id, c.turns[c.turns.length - 1]] as const)
    .filter((x): x is readonly [number, Turn] => x[1] !== undefined);
  const compRows = latest.map(([id, t]) => [
    String(id),
    `#${t.index}`,
    ...CONTEXT_PARTS.map((p) => `${t.context.tokens[p]} (${t.context.bytes[p]} B)`),
    t.context.calibrated ? `yes (×${t.context.factor})` : "no",
  ]);
  sections.push({
    title: "Context Composition",
    blocks: [
      {
        kind: "paragraph",
        text: "What each conversation's latest request carried, in estimated tokens (bytes " +
          "in brackets). Estimates are bytes / 4, scaled to the input tokens the API " +
          'reported when it reported them ("calibrated").',
      },
      {
        kind: "table",
        header: ["Conversation", "Turn", ...CONTEXT_PARTS.map((p) => PART_LABELS[p]), "Calibrated"],
        rows: compRows.slice(0, MAX_ROWS),
      },
      ...capped(compRows, "conversations"),
    ],
  });

  const misses = convs.flatMap((c) =>
    c.turns.filter((t) => t.cache.miss).map((t) => [
      `#${t.index}`,
      String(c.id),
      pct(t.cache.miss!.from),
      pct(t.cache.miss!.to),
      t.cache.miss!.changed ?? "(nothing)",
      t.cache.miss!.reason,
    ])
  );
  sections.push({
    title: "Cache Misses",
    blocks: misses.length === 0 ? [{ kind: "paragraph", text: "No turn's cached share fell." }] : [
      {
        kind: "table",
        header: ["Turn", "Conversation", "Hit before", "Hit now", "First change", "Reason"],
        rows: misses.slice(0, MAX_ROWS),
      },
      ...capped(misses, "cache misses"),
    ],
  });

  const events = convs.flatMap((c) =>
    c.events.map((e) => [`#${e.turn}`, String(c.id), e.kind.replace("_", " "), e.detail])
  );
  if (events.length > 0) {
    sections.push({
      title: "Compactions and Model Switches",
      blocks: [
        {
          kind: "table",
          header: ["Turn", "Conversation", "Event", "Detail"],
          rows: events.slice(0, MAX_ROWS),
        },
        ...capped(events, "events"),
      ],
    });
  }
  return sections;
}
