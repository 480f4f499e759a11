/**
 * The gathered Gemini response state as blocks: summary fields, errors, each candidate's
 * output, calls and other parts, safety feedback and unknown fields, with the problems they
 * show.
 */
import { arr, isRecord, type JsonObject, remainingKeys, str } from "../lib/json.ts";
import type { Block, RenderedBody, Usage } from "../lib/types.ts";
import { code, fields, heading, paragraph } from "./blocks.ts";
import { citationBlocks } from "./citations.ts";
import { errorsBlocks, googleErrorLine } from "./errors.ts";
import {
  type CandidateState,
  GEMINI_USAGE_SHOWN,
  isTextPart,
  type ResponseState,
  usageFromMetadata,
} from "./gemini_chunks.ts";
import { CELL, knownPartKeys, partCell, partType, signatureNote } from "./gemini_parts.ts";
import { formatUsage, usageFieldsText } from "./response.ts";
import { capText, excerpt } from "./text.ts";
import { compactJson, inlineValue, prettyJson } from "./values.ts";

const SAFETY_REASONS = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
]);

function candidateLabel(state: ResponseState, cand: CandidateState): string {
  return state.candidates.size > 1 ? ` (candidate ${cand.index})` : "";
}

type PartKind = "text" | "thought" | "call" | "other";

function partKind(part: JsonObject): PartKind {
  if (typeof part.text === "string") return part.thought === true ? "thought" : "text";
  return "functionCall" in part ? "call" : "other";
}

function functionCallRows(state: ResponseState, cand: CandidateState, part: JsonObject): Block[] {
  const call = part.functionCall;
  if (!isRecord(call)) return [fields([["Name", "?"]]), code(prettyJson(call), "json")];
  const rows: [string, string][] = [["Name", str(call.name) ?? inlineValue(call.name ?? "?")]];
  if (call.id !== undefined) rows.push(["ID", inlineValue(call.id)]);
  if (state.candidates.size > 1) rows.push(["Candidate", String(cand.index)]);
  const rest = remainingKeys(call, new Set(["name", "id", "args"]));
  if (rest) rows.push(["Other keys", excerpt(compactJson(rest, 100), CELL)]);
  if (part.thoughtSignature !== undefined) {
    rows.push(["Thought signature", signatureNote(part.thoughtSignature)]);
  }
  const blocks: Block[] = [fields(rows)];
  if (call.args !== undefined) blocks.push(code(prettyJson(call.args), "json"));
  return blocks;
}

/** A list item for a part that is not plain text or a call (inline data, code, unknown). */
function otherPartItem(state: ResponseState, cand: CandidateState, part: JsonObject): string {
  const type = partType(part);
  // The text itself is under "Output text" / "Thoughts": list only the extra keys here.
  const cell = type === "text" || type === "thought"
    ? excerpt(compactJson(remainingKeys(part, knownPartKeys(type)), 60), CELL)
    : partCell(part);
  return `${type}${candidateLabel(state, cand)}: ${cell}`;
}

/**
 * Each candidate's parts in the order the model produced them: runs of thoughts, text
 * (joined as they came, like the SDK's `text`), function calls and other parts, each under
 * its heading, so a thought, a call and more text read as streamed.
 */
/**
 * Google Search grounding as citations: each grounding support (a segment of the answer) with
 * the web sources of its chunks; the metadata itself stays under "Other candidate fields".
 */
function groundingCitations(meta: unknown): unknown[] {
  if (!isRecord(meta)) return [];
  const chunks = arr(meta.groundingChunks);
  return arr(meta.groundingSupports).filter(isRecord).flatMap((support) => {
    const segment = isRecord(support.segment) ? support.segment : {};
    return arr(support.groundingChunkIndices).map((i) => {
      const chunk = typeof i === "number" ? chunks[i] : undefined;
      const source = isRecord(chunk)
        ? (isRecord(chunk.web) ? chunk.web : chunk.retrievedContext)
        : undefined;
      const src = isRecord(source) ? source : {};
      return {
        type: "grounding_support",
        cited_text: str(segment.text) ?? "",
        url: str(src.uri),
        title: str(src.title),
      };
    });
  });
}

function partBlocks(state: ResponseState): Block[] {
  const blocks: Block[] = [];
  for (const cand of state.candidates.values()) {
    const label = candidateLabel(state, cand);
    const parts = cand.parts;
    // Citations follow the candidate's parts (the segments index into its whole text).
    const after = citationBlocks(groundingCitations(cand.other.groundingMetadata));
    for (let i = 0; i < parts.length;) {
      const kind = partKind(parts[i]);
      let j = i + 1;
      while (j < parts.length && partKind(parts[j]) === kind) j++;
      const run = parts.slice(i, j);
      i = j;
      if (kind === "text" || kind === "thought") {
        const text = run.map((p) => p.text as string).join("");
        if (text !== "") {
          blocks.push(heading(`${kind === "thought" ? "Thoughts" : "Output text"}${label}`));
          blocks.push(code(text, "text"));
        }
        const extras = run.filter((p) => !isTextPart(p));
        if (extras.length > 0) {
          blocks.push(heading("Other parts"), {
            kind: "list",
            items: extras.map((p) => otherPartItem(state, cand, p)),
          });
        }
      } else if (kind === "call") {
        blocks.push(
          heading("Function calls"),
          ...run.flatMap((p) => functionCallRows(state, cand, p)),
        );
      } else {
        blocks.push(heading("Other parts"), {
          kind: "list",
          items: run.map((p) => otherPartItem(state, cand, p)),
        });
      }
    }
    blocks.push(...after);
  }
  return blocks;
}

/** Prompt feedback and safety ratings that blocked or flagged something. */
function safetyBlocks(state: ResponseState): { blocks: Block[]; problems: string[] } {
  const blocks: Block[] = [];
  const problems: string[] = [];
  const fb = state.promptFeedback;
  if (fb) {
    const rows: [string, string][] = [];
    if (fb.blockReason !== undefined) {
      rows.push(["Block reason", inlineValue(fb.blockReason)]);
      problems.push(`prompt blocked: ${inlineValue(fb.blockReason)}`);
    }
    if (fb.blockReasonMessage !== undefined) {
      rows.push(["Message", inlineValue(fb.blockReasonMessage)]);
    }
    blocks.push(heading("Prompt feedback"));
    if (rows.length > 0) blocks.push(fields(rows));
    const rest = remainingKeys(fb, new Set(["blockReason", "blockReasonMessage"]));
    if (rest) blocks.push(code(prettyJson(rest, 300), "json"));
  }
  for (const cand of state.candidates.values()) {
    const ratings = arr(cand.safetyRatings);
    const flagged = ratings.some((r) => isRecord(r) && r.blocked === true);
    if (!flagged && !SAFETY_REASONS.has(cand.finishReason ?? "")) continue;
    blocks.push(heading(`Safety ratings${candidateLabel(state, cand)}`));
    if (ratings.length === 0) {
      blocks.push(paragraph("(none reported)"));
      continue;
    }
    blocks.push({
      kind: "table",
      header: ["Category", "Probability", "Blocked"],
      rows: ratings.map((r) =>
        isRecord(r)
          ? [
            inlineValue(r.category ?? ""),
            inlineValue(r.probability ?? ""),
            r.blocked ? "yes" : "",
          ]
          : [excerpt(compactJson(r), CELL), "", ""]
      ),
    });
  }
  return { blocks, problems };
}

function finishText(state: ResponseState): string | undefined {
  const cands = [...state.candidates.values()].filter((c) => c.finishReason !== undefined);
  if (cands.length === 0) return undefined;
  if (state.candidates.size === 1) return cands[0].finishReason;
  return cands.map((c) => `${c.finishReason} (candidate ${c.index})`).join(", ");
}

/**
 * Summary fields, errors, output, calls, other parts, safety and unknown fields; with the
 * problems they show (finish reasons other than STOP, errors, a blocked prompt).
 */
export function stateBlocks(
  state: ResponseState,
): { blocks: Block[]; usage?: Usage; problems: string[] } {
  const problems: string[] = [];
  const usage = usageFromMetadata(state.usageMetadata);
  const rows: [string, string][] = [];
  if (state.responseId !== undefined) rows.push(["Response ID", state.responseId]);
  if (state.modelVersion !== undefined) rows.push(["Model version", state.modelVersion]);
  if (state.traceId !== undefined) rows.push(["Trace ID", state.traceId]);
  const finish = finishText(state);
  if (finish !== undefined) rows.push(["Finish reason", finish]);
  for (const cand of state.candidates.values()) {
    if (cand.finishMessage !== undefined) {
      rows.push([`Finish message${candidateLabel(state, cand)}`, cand.finishMessage]);
    }
    if (cand.finishReason !== undefined && cand.finishReason !== "STOP") {
      const msg = cand.finishMessage ? `: ${cand.finishMessage}` : "";
      problems.push(
        excerpt(`finish reason ${cand.finishReason}${candidateLabel(state, cand)}${msg}`, CELL),
      );
    }
  }
  for (const cand of state.candidates.values()) {
    if (cand.signatures.length === 0) continue;
    rows.push([
      `Thought signatures${candidateLabel(state, cand)}`,
      cand.signatures.map(signatureNote).join(", "),
    ]);
  }
  if (usage) rows.push(["Usage", formatUsage(usage)]);
  const more = usageFieldsText(state.usageMetadata, GEMINI_USAGE_SHOWN);
  if (more) rows.push(["Usage fields", more]);
  for (const e of state.errors) problems.push(googleErrorLine(e));

  const safety = safetyBlocks(state);
  problems.push(...safety.problems);
  const blocks: Block[] = rows.length > 0 ? [fields(rows)] : [];
  blocks.push(
    ...errorsBlocks(state.errors, ["code", "status", "message"]),
    ...partBlocks(state),
    ...safety.blocks,
  );
  if (state.candidates.size === 0 && state.errors.length === 0 && !state.promptFeedback) {
    blocks.push(paragraph("(no candidates)"));
  }
  const candOther: JsonObject = {};
  for (const cand of state.candidates.values()) {
    for (const [k, v] of Object.entries(cand.other)) {
      candOther[state.candidates.size > 1 ? `candidate ${cand.index}: ${k}` : k] = v;
    }
  }
  if (Object.keys(candOther).length > 0) {
    blocks.push(heading("Other candidate fields"), code(prettyJson(candOther, 300), "json"));
  }
  if (Object.keys(state.other).length > 0) {
    blocks.push(heading("Other response fields"), code(prettyJson(state.other, 300), "json"));
  }
  if (state.strays.length > 0) {
    blocks.push(
      heading(`Unrecognised chunks (${state.strays.length})`),
      code(capText(state.strays.map((s) => compactJson(s, 300)).join("\n"), 8000).text, "json"),
    );
  }
  return usage ? { blocks, usage, problems } : { blocks, problems };
}

/** `body` with the model version and response id the chunks named (totals, conversations). */
export function withIds(body: RenderedBody, state: ResponseState): RenderedBody {
  return {
    ...body,
    ...(state.modelVersion !== undefined && { model: state.modelVersion }),
    ...(state.responseId !== undefined && { responseId: state.responseId }),
    final: {
      candidates: [...state.candidates.values()].map((c) => ({
        index: c.index,
        content: { role: "model", parts: c.parts },
        finishReason: c.finishReason,
      })),
    },
  };
}
