/**
 * Citations shown with the text they support: Anthropic's `citations` on text blocks
 * (web_search_result_location, char_location, page_location, content_block_location,
 * search_result_location) and OpenAI Responses' `output_text.annotations` (url_citation,
 * file_citation, container_file_citation, file_path). One table row per citation naming what
 * it cites and its source, then the raw list, so nothing a citation carries is lost.
 */
import type { Block } from "../lib/types.ts";
import { isRecord, num, str } from "../lib/json.ts";
import { code, heading } from "./blocks.ts";
import { excerpt } from "./text.ts";
import { inlineValue, prettyJson } from "./values.ts";

/** "url — title", "file: name (file-id)", "document 2: Title, chars 0-10", ... */
function sourceText(c: Record<string, unknown>): string {
  const url = str(c.url);
  const title = str(c.title) ?? str(c.document_title);
  if (url) return title ? `${title}: ${url}` : url;
  const file = str(c.filename) ?? str(c.file_id);
  if (file) {
    const id = str(c.file_id);
    const where = str(c.container_id) ? ` in container ${str(c.container_id)}` : "";
    return `file ${file}${id && id !== file ? ` (${id})` : ""}${where}`;
  }
  const parts: string[] = [];
  const doc = num(c.document_index);
  if (doc !== undefined) parts.push(`document ${doc}${title ? `: ${title}` : ""}`);
  else if (title) parts.push(title);
  if (str(c.source)) parts.push(str(c.source)!);
  const range = (from: unknown, to: unknown, what: string) => {
    if (num(from) !== undefined) parts.push(`${what} ${num(from)}-${num(to) ?? "?"}`);
  };
  range(c.start_char_index, c.end_char_index, "chars");
  range(c.start_page_number, c.end_page_number, "pages");
  range(c.start_block_index, c.end_block_index, "blocks");
  return parts.join(", ") || "(no source)";
}

/**
 * "Citations (N)": a table (#, type, cited text, source) and the raw citations as JSON;
 * nothing for none. `textOf(i)` is the passage citation i indexes into (Responses'
 * start_index/end_index), when it does.
 */
export function citationBlocks(
  citations: unknown[],
  textOf: (i: number) => string | undefined = () => undefined,
): Block[] {
  if (citations.length === 0) return [];
  const rows = citations.map((c, i) => {
    const text = textOf(i);
    if (!isRecord(c)) return [String(i + 1), "", "", excerpt(inlineValue(c), 200)];
    let cited = str(c.cited_text);
    const from = num(c.start_index);
    const to = num(c.end_index);
    if (cited === undefined && text !== undefined && from !== undefined && to !== undefined) {
      cited = text.slice(from, to);
    }
    return [
      String(i + 1),
      str(c.type) ?? "",
      excerpt(cited ?? "", 200),
      excerpt(sourceText(c), 300),
    ];
  });
  return [
    heading(`Citations (${citations.length})`),
    { kind: "table", header: ["#", "Type", "Cited text", "Source"], rows },
    code(prettyJson(citations), "json"),
  ];
}
