/**
 * The analysis model as report sections (Markdown and HTML): conversations with their
 * subagents, context composition, cache misses with their reasons, and compaction and
 * model-switch events.
 */
import type { Block, ReportSection } from "../types.ts";
import { MAX_CALIBRATION } from "./build.ts";
import {
  CONTEXT_PARTS,
  type ContextComposition,
  type ContextPart,
  type Conversation,
  LISTED_ROWS,
  type SessionDigest,
  type Tokens,
  turnLabel,
} from "./types.ts";

const PART_LABELS: Record<ContextPart, string> = {
  system: "System prompt",
  tools: "Tool definitions",
  history: "Earlier history",
  toolResults: "Tool results",
  newInput: "New input",
};

const pct = (r: number | null) => r === null ? "" : `${Math.round(r * 100)}%`;
const money = (n: number) => n > 0 && n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
const counted = (t: Tokens) => t.input + t.output > 0;

/** The cost cell, in Token Usage's words when there is no figure. */
function costCell(c: Conversation): string {
  if (c.cost !== null) return money(c.cost);
  return counted(c.tokens) || counted(c.subCalls) ? "no price" : "no usage";
}

/** The Calibrated cell: the factor, or why the estimate was left unscaled. */
function calibratedCell(ctx: ContextComposition): string {
  if (ctx.calibrated) return `yes (×${ctx.factor})`;
  return uncapped(ctx) ? `no: reported ×${ctx.factor} the estimate (see below)` : "no";
}

/** Reported far above what the request carried: the estimate was left unscaled. */
const uncapped = (ctx: ContextComposition) => !ctx.calibrated && ctx.factor > MAX_CALIBRATION;

function capped(count: number, what: string): Block[] {
  const blocks: Block[] = [];
  if (count > LISTED_ROWS) {
    blocks.push({
      kind: "paragraph",
      text: `First ${LISTED_ROWS} of ${count} ${what} (all of them in --format json).`,
    });
  }
  return blocks;
}

export function modelSections(digest: SessionDigest): ReportSection[] {
  const count = digest.conversationCount;
  if (count === 0) {
    return [{
      title: "Conversations",
      blocks: [{ kind: "paragraph", text: "No model conversations in this capture." }],
    }];
  }
  // Sub-calls (compaction, advisor) get their own column: the turns' own tokens stay what
  // the cache hit rate and the cache diagnosis read.
  const subCalls = digest.conversations.some(({ conversation: c }) => counted(c.subCalls));
  const convRows = digest.conversations.map(({ conversation: c, turns }) => [
    String(c.id),
    c.title,
    c.parent ? `subagent of ${c.parent.conversation} (${c.parent.toolName})` : "main",
    c.model ?? "",
    String(turns),
    String(c.tokens.input),
    String(c.tokens.output),
    ...(subCalls ? [`${c.subCalls.input} in, ${c.subCalls.output} out`] : []),
    pct(c.cacheHitRate),
    costCell(c),
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
          ...(subCalls ? ["Sub-calls"] : []),
          "Cache hit",
          "Est. cost",
        ],
        rows: convRows,
      },
      ...(subCalls
        ? [{
          kind: "paragraph" as const,
          text: "Input and Output are the requests' own tokens, which the cache hit rate is " +
            "of; Sub-calls are the compaction and advisor calls billed with them (in Token " +
            "Usage under the model that ran them). The cost includes both.",
        }]
        : []),
      ...capped(count, "conversations"),
    ],
  }];

  // Context composition of each conversation's latest turn: what its context holds now.
  const compRows = digest.conversations.map(({ conversation, latest: t }) => [
    String(conversation.id),
    turnLabel(t),
    ...CONTEXT_PARTS.map((p) => `${t.context.tokens[p]} (${t.context.bytes[p]} B)`),
    calibratedCell(t.context),
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
        rows: compRows,
      },
      ...(digest.conversations.some(({ latest }) => uncapped(latest.context))
        ? [{
          kind: "paragraph" as const,
          text: `A reported input more than ×${MAX_CALIBRATION} the estimate counts context ` +
            "the request did not carry (a compaction, a conversation the server keeps): " +
            "those rows show the plain estimate.",
        }]
        : []),
      ...capped(count, "conversations"),
    ],
  });

  const misses = digest.misses.map(({ conversation, turn, call, miss }) => [
    turnLabel({ index: turn, call }),
    String(conversation),
    pct(miss.from),
    pct(miss.to),
    miss.changed ?? "(nothing)",
    miss.reason,
  ]);
  sections.push({
    title: "Cache Misses",
    blocks: misses.length === 0 ? [{ kind: "paragraph", text: "No turn's cached share fell." }] : [
      {
        kind: "table",
        header: ["Turn", "Conversation", "Hit before", "Hit now", "First change", "Reason"],
        rows: misses,
      },
      ...capped(digest.missCount, "cache misses"),
    ],
  });

  const events = digest.events.map(({ conversation, event: e }) => [
    turnLabel({ index: e.turn, call: e.call }),
    String(conversation),
    e.kind.replace("_", " "),
    e.detail,
  ]);
  if (events.length > 0) {
    sections.push({
      title: "Compactions and Model Switches",
      blocks: [
        {
          kind: "table",
          header: ["Turn", "Conversation", "Event", "Detail"],
          rows: events,
        },
        ...capped(digest.eventCount, "events"),
      ],
    });
  }
  return sections;
}
