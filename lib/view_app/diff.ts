/**
 * The line diff the page shows when a system prompt or a tool definition changed between two
 * turns, computed in the browser with jsdiff (npm `diff`): removed and added lines, unchanged
 * runs folded to a marker with a line of context either side.
 */
import { diffLines } from "diff";

export interface DiffLine {
  op: "add" | "del" | "same" | "fold";
  text: string;
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
      for (const text of lines) out.push({ op: part.added ? "add" : "del", text });
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
