/**
 * The line diff the page shows when a system prompt or a tool definition changed between two
 * turns, computed in the browser with jsdiff (npm `diff`): removed and added lines, unchanged
 * runs folded to a marker with a line of context either side.
 */
import { diffLines, diffWordsWithSpace } from "diff";

/** A run of a changed line's text, marked when it is what changed within the line. */
export interface Segment {
  text: string;
  changed: boolean;
}

export interface DiffLine {
  op: "add" | "del" | "same" | "fold";
  text: string;
  /** For a removed line replaced by added ones (and those): the words that changed. */
  words?: Segment[];
}

/** Unchanged runs longer than this are folded. */
const KEEP = 1;

/** Milliseconds jsdiff may spend before the page shows the new text whole instead. */
const TIMEOUT_MS = 400;

const linesOf = (value: string) => {
  const lines = value.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
};

/** `null` when the texts are too different to diff in time (show the new text). */
export function lineDiff(before: string, after: string): DiffLine[] | null {
  const parts = diffLines(before, after, { timeout: TIMEOUT_MS });
  if (!parts) return null;
  const out: DiffLine[] = [];
  parts.forEach((part, at) => {
    const lines = linesOf(part.value);
    if (part.added || part.removed) {
      const replaced = part.removed ? parts[at + 1] : parts[at - 1];
      const words = replaced && (part.removed ? replaced.added : replaced.removed)
        ? wordMarks(
          part.removed ? lines : linesOf(replaced.value),
          part.removed ? linesOf(replaced.value) : lines,
        )
        : null;
      const mine = words ? words[part.removed ? 0 : 1] : null;
      lines.forEach((text, i) => {
        const line: DiffLine = { op: part.added ? "add" : "del", text };
        if (mine?.[i]) line.words = mine[i];
        out.push(line);
      });
      return;
    }
    const head = at === 0 ? 0 : KEEP;
    const tail = at === parts.length - 1 ? 0 : KEEP;
    if (lines.length <= head + tail + 1) {
      for (const text of lines) out.push({ op: "same", text });
      return;
    }
    for (const text of lines.slice(0, head)) out.push({ op: "same", text });
    out.push({ op: "fold", text: `… ${lines.length - head - tail} unchanged lines` });
    for (const text of lines.slice(lines.length - tail)) out.push({ op: "same", text });
  });
  return out;
}

/**
 * The words that changed between removed lines and the lines that replaced them, line by line
 * on either side; `null` when jsdiff runs out of time or the lines share no word (then marking
 * every word would say nothing).
 */
function wordMarks(removed: string[], added: string[]): [Segment[][], Segment[][]] | null {
  const parts = diffWordsWithSpace(removed.join("\n"), added.join("\n"), { timeout: TIMEOUT_MS });
  if (!parts || !parts.some((p) => !p.added && !p.removed && p.value.trim() !== "")) return null;
  const before: Segment[] = [];
  const after: Segment[] = [];
  for (const p of parts) {
    if (!p.added) before.push({ text: p.value, changed: !!p.removed });
    if (!p.removed) after.push({ text: p.value, changed: !!p.added });
  }
  return [byLine(before), byLine(after)];
}

/** Segments cut at line breaks: one list of segments a line. */
function byLine(segments: Segment[]): Segment[][] {
  const lines: Segment[][] = [[]];
  for (const seg of segments) {
    seg.text.split("\n").forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece) lines.at(-1)!.push({ text: piece, changed: seg.changed });
    });
  }
  return lines;
}
