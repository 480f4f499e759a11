/**
 * `analyze --format json`: the analysis model's JSON form (types.ts `AnalysisModel`, validated
 * by schema.json) written while the capture is read. Each turn is written when its exchange is
 * read, each conversation when it ends, each subagent link and event when found, into logs of
 * their own (report_log.ts: memory up to a limit, then a temporary file); the session's totals,
 * known only at the end, come first in the document. So memory stays flat whatever the capture
 * holds. One record a line, so line tools (grep, head) work on it.
 */
import { maskSecretFields } from "../redact.ts";
import { type ByteWriter, ReportLog, writeAll } from "../report_log.ts";
import type { ModelBuilder } from "./build.ts";
import { type AnalysisModel, MODEL_VERSION, type Session, type SessionRecord } from "./types.ts";

/** Memory kept by the logs of the shorter lists before they move to a file. */
const SMALL_LOG_LIMIT = 1 << 20;

type ListName = "conversations" | "subagents" | "events" | "turns";

/** The session's lists in the order they are written (the largest last). */
const LISTS: readonly ListName[] = ["conversations", "subagents", "events", "turns"];

/** One list of records, each a line, separated by commas. */
class RecordLog {
  readonly log: ReportLog;
  count = 0;

  constructor(memoryLimit?: number) {
    this.log = new ReportLog(memoryLimit === undefined ? {} : { memoryLimit });
  }

  async add(record: unknown): Promise<void> {
    // Secrets are masked as in every report (key shapes, secret fields written in a text):
    // whatever a title, a preview or a problem quotes.
    const line = JSON.stringify(maskSecretFields(record));
    await this.log.write(this.count++ === 0 ? line : ",\n" + line);
  }
}

export class ModelJsonWriter implements AsyncDisposable {
  #lists: Record<ListName, RecordLog> = {
    conversations: new RecordLog(SMALL_LOG_LIMIT),
    subagents: new RecordLog(SMALL_LOG_LIMIT),
    events: new RecordLog(SMALL_LOG_LIMIT),
    turns: new RecordLog(),
  };

  /**
   * Takes what `model` (built with `keep: "stream"`) finished with the exchange just added to
   * it, `turns` being that exchange's turns; `end` once the capture is over.
   */
  async add(model: ModelBuilder, turns: readonly unknown[] = [], end = false): Promise<void> {
    const l = this.#lists;
    for (const turn of turns) await l.turns.add(turn);
    for (const e of model.events()) await l.events.add(e);
    for (const s of model.spawned()) {
      await l.subagents.add({ conversation: s.conversation, parent: s.link });
    }
    for (const c of model.ended(end)) await l.conversations.add(c);
  }

  /** How many records each list has so far. */
  counts(): Record<ListName, number> {
    const l = this.#lists;
    return {
      conversations: l.conversations.count,
      subagents: l.subagents.count,
      events: l.events.count,
      turns: l.turns.count,
    };
  }

  /**
   * Writes the document: `session` (from the builder's `build()`) with its totals, then the
   * lists. Call after `add(model, [], true)`.
   */
  async copyTo(out: ByteWriter, session: Session, generator: string): Promise<void> {
    const { conversations: _, turns, ...totals } = session;
    const head: Omit<SessionRecord, ListName> = {
      ...totals,
      turnCount: turns,
      conversationCount: this.#lists.conversations.count,
    };
    const top: Omit<AnalysisModel, "sessions"> = { version: MODEL_VERSION, generator };
    const encoder = new TextEncoder();
    const text = (s: string) => writeAll(out, encoder.encode(s));
    // The objects are written without their closing brace, and the lists after them.
    await text(
      JSON.stringify(top).slice(0, -1) + ',"sessions":[\n' +
        JSON.stringify(maskSecretFields(head)).slice(0, -1),
    );
    for (const name of LISTS) {
      const list = this.#lists[name];
      await text(`,\n${JSON.stringify(name)}:[${list.count > 0 ? "\n" : ""}`);
      await list.log.copyTo(out);
      await text(list.count > 0 ? "\n]" : "]");
    }
    await text("}\n]}\n");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const name of LISTS) await this.#lists[name].log[Symbol.asyncDispose]();
  }
}
