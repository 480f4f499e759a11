/**
 * One capture as the viewer serves it: a single streaming pass reads the file, remembers where
 * each exchange starts (byte offsets, nothing else of its text) and feeds the analysis model;
 * an exchange's text is read back from its offset when the page asks for it. With `follow`,
 * the pass keeps reading as the capture grows, so a live capture's new exchanges reach the
 * model (and the page) as they are written.
 */
import { ConversationTracker } from "../conversation.ts";
import { headerRedactor, maskKeyShapes, redactUrl } from "../redact.ts";
import { redactEntry } from "../redact_entry.ts";
import { stringValues } from "./snippet.ts";
import { exchangeDoc } from "../report.ts";
import { rendererChooser, responseView } from "../analyze.ts";
import { modelInput } from "../model/input.ts";
import { ModelBuilder } from "../model/build.ts";
import type { Session } from "../model/types.ts";
import type { PriceTable } from "../prices.ts";
import type { Entry, Renderer, Target } from "../types.ts";
import { entryProblem } from "../jsonl.ts";
import { AgentTally, extraRedactions } from "../recognize.ts";

/** Bytes read at a time. */
const CHUNK = 1 << 20;
/** Longest stretch of indexing before the server answers waiting requests, in milliseconds. */
const YIELD_AFTER_MS = 20;
/** How often a followed capture is checked for new lines, in milliseconds. */
export const FOLLOW_INTERVAL_MS = 100;

export interface IndexOptions {
  id: string;
  path: string;
  /** The agent named by `--target`; without it the capture's headers name it (`targets`). */
  target?: Target;
  /** The targets probe knows: their session headers and redactions apply, agents recognised. */
  targets: readonly Target[];
  renderers: ReadonlyMap<string, Renderer>;
  prices: PriceTable;
  follow: boolean;
  /** Called after new exchanges were indexed (at most once per chunk). */
  onChange: () => void;
  /** The recorder's in-flight file (`probe capture --view`): exchanges in progress. */
  inflight?: string;
}

/** Exchanges that are no model turn kept to list (each is a few hundred bytes at most). */
const MAX_OTHERS = 1000;

/** An exchange that is no model turn, as the page lists it. */
export interface OtherExchange {
  index: number;
  method: string;
  url: string;
  status: string;
  problems: string[];
}

/** An exchange the recorder has started and not yet written. */
export interface InflightExchange {
  id: string;
  start: number;
  method: string;
  url: string;
  proxy: string | null;
}

/** The index of one capture file. */
export class CaptureIndex {
  readonly id: string;
  readonly path: string;
  #opts: IndexOptions;
  /** Byte offset and length of exchange i (0-based; the model's index is i + 1). */
  #offsets: number[] = [];
  #lengths: number[] = [];
  #lines: number[] = [];
  #model: ModelBuilder;
  #tracker: ConversationTracker;
  #agents: AgentTally;
  #choose: (entry: Entry) => Renderer;
  #redact: (h: Record<string, string>) => Record<string, string>;
  #start: number | undefined;
  bytesIndexed = 0;
  size = 0;
  done = false;
  /** The end of the file was reached once (a followed capture then grows slowly). */
  caughtUp = false;
  malformed = 0;
  /** Exchanges that are no model turn (see `others`). */
  otherCount = 0;
  #others: OtherExchange[] = [];
  error: string | undefined;
  #closed = false;
  #ending = false;
  #inflight = new Map<string, InflightExchange>();
  #built: Session | undefined;
  #builtAt = -1;
  /** Ids already in the capture (only when following an in-flight file). */
  #recorded = new Set<string>();

  constructor(opts: IndexOptions) {
    this.#opts = opts;
    this.id = opts.id;
    this.path = opts.path;
    this.#model = new ModelBuilder({
      id: opts.id,
      source: opts.path,
      agent: "",
      prices: opts.prices,
    });
    const known = [...new Set([...opts.targets, ...(opts.target ? [opts.target] : [])])];
    this.#choose = rendererChooser(opts.renderers, opts.target);
    this.#redact = headerRedactor(extraRedactions(opts.target, known));
    this.#tracker = new ConversationTracker(known.flatMap((t) => t.sessionHeaders ?? []));
    this.#agents = new AgentTally(known);
  }

  get exchanges(): number {
    return this.#offsets.length;
  }

  /** The session as indexed so far (built again only after new exchanges). */
  session(): Session {
    if (this.#built && this.#builtAt === this.#offsets.length) return this.#built;
    const s = this.#model.build();
    this.#built = s;
    this.#builtAt = this.#offsets.length;
    s.agent = this.#opts.target?.name ?? this.#agents.agents().join(", ");
    return s;
  }

  close(): void {
    this.#closed = true;
  }

  /**
   * The capture stopped (its recorder has written its last line): the index reads to the end
   * of the file and stops following, and nothing is in progress any more.
   */
  end(): void {
    this.#ending = true;
    this.#inflight.clear();
  }

  /** Still following the capture as it grows. */
  get following(): boolean {
    return this.#opts.follow && !this.done;
  }

  /** Exchanges in progress (started, not yet in the capture), oldest first. */
  inflight(): InflightExchange[] {
    return [...this.#inflight.values()];
  }

  /** Follows the in-flight file: a start line adds an exchange, a done line removes it. */
  async followInflight(): Promise<void> {
    const path = this.#opts.inflight;
    if (!path) return;
    let pos = 0;
    let rest = "";
    const decoder = new TextDecoder();
    while (!this.#closed && !this.#ending) {
      let data: Uint8Array | undefined;
      try {
        using f = await Deno.open(path, { read: true });
        await f.seek(pos, Deno.SeekMode.Start);
        const buf = new Uint8Array(1 << 16);
        const n = await f.read(buf);
        if (n !== null && n > 0) data = buf.subarray(0, n);
      } catch {
        // not created yet
      }
      if (this.#ending) break;
      if (!data) {
        await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS / 2));
        continue;
      }
      pos += data.length;
      const lines = (rest + decoder.decode(data, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      let changed = false;
      for (const line of lines) {
        try {
          const m = JSON.parse(line);
          if (typeof m?.id !== "string") continue;
          if (m.done) changed = this.#inflight.delete(m.id) || changed;
          else if (!this.#recorded.has(m.id)) {
            this.#inflight.set(m.id, {
              id: m.id,
              start: Number(m.start) || 0,
              method: String(m.method ?? "?"),
              url: redactUrl(String(m.url ?? "")),
              proxy: typeof m.proxy === "string" ? m.proxy : null,
            });
            changed = true;
          }
        } catch {
          // a torn line: the next read completes it
        }
      }
      if (changed) this.#opts.onChange();
    }
  }

  /** The capture; a followed one may not exist yet (the recorder creates it on its first line). */
  async #open(): Promise<Deno.FsFile> {
    while (true) {
      try {
        return await Deno.open(this.path, { read: true });
      } catch (err) {
        const waiting = this.#opts.follow && !this.#closed && !this.#ending;
        if (!waiting || !(err instanceof Deno.errors.NotFound)) throw err;
        this.caughtUp = true;
        await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
      }
    }
  }

  /** Reads the capture (and, following, keeps reading); resolves when done or closed. */
  async run(): Promise<void> {
    let file: Deno.FsFile;
    try {
      file = await this.#open();
    } catch (err) {
      // A live capture that ended before its first exchange has no file: nothing to show.
      const empty = this.#ending && err instanceof Deno.errors.NotFound;
      if (!empty) this.error = `cannot read ${this.path}: ${(err as Error).message}`;
      this.done = true;
      this.#opts.onChange();
      return;
    }
    using _file = file;
    const buf = new Uint8Array(CHUNK);
    let pending: Uint8Array[] = [];
    let pendingLen = 0;
    let lineStart = 0;
    let pos = 0;
    let lineNo = 0;
    const decoder = new TextDecoder();
    let lastYield = performance.now();
    while (!this.#closed) {
      // Only a read begun after the capture ended has seen its last line: a read begun before
      // may come back empty after `end()`.
      const ending = this.#ending;
      const n = await file.read(buf);
      if (n === null || n === 0) {
        this.size = Math.max(this.size, pos);
        const first = !this.caughtUp;
        this.caughtUp = true;
        if (!this.#opts.follow || ending) break;
        // Only the first end of the file is news (indexing finished): a followed capture is
        // read again every 100 ms, and the page would reload what it shows as often.
        if (first) this.#opts.onChange();
        await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
        continue;
      }
      let from = 0;
      let changed = false;
      while (from < n) {
        const nl = buf.indexOf(10, from);
        if (nl === -1 || nl >= n) {
          pending.push(buf.slice(from, n));
          pendingLen += n - from;
          break;
        }
        let bytes: Uint8Array;
        if (pendingLen > 0) {
          bytes = new Uint8Array(pendingLen + nl - from);
          let at = 0;
          for (const p of pending) {
            bytes.set(p, at);
            at += p.length;
          }
          bytes.set(buf.subarray(from, nl), at);
          pending = [];
          pendingLen = 0;
        } else bytes = buf.subarray(from, nl);
        lineNo++;
        const length = pos + nl + 1 - lineStart;
        if (this.#addLine(decoder.decode(bytes), lineStart, length, lineNo)) changed = true;
        lineStart = pos + nl + 1;
        from = nl + 1;
        if (performance.now() - lastYield > YIELD_AFTER_MS) {
          // The page's requests are served between slices of indexing, not after a chunk.
          await new Promise((r) => setTimeout(r, 0));
          lastYield = performance.now();
        }
      }
      pos += n;
      this.bytesIndexed = lineStart;
      this.size = Math.max(this.size, pos);
      if (changed) this.#opts.onChange();
    }
    if (pendingLen > 0 && !this.#closed) {
      // A last line without a newline: an exchange like any other.
      const bytes = new Uint8Array(pendingLen);
      let at = 0;
      for (const p of pending) {
        bytes.set(p, at);
        at += p.length;
      }
      this.#addLine(decoder.decode(bytes), lineStart, pendingLen, lineNo + 1);
      this.bytesIndexed = lineStart + pendingLen;
    }
    this.done = true;
    this.caughtUp = true;
    this.#opts.onChange();
  }

  #addLine(text: string, offset: number, length: number, line: number): boolean {
    if (text.trim() === "") return false;
    let entry: Entry;
    try {
      const value = JSON.parse(text);
      if (entryProblem(value) !== null) throw new Error("not an entry");
      entry = value as Entry;
    } catch {
      this.malformed++;
      return false;
    }
    if (typeof entry.id === "string") {
      this.#inflight.delete(entry.id);
      if (this.#opts.inflight) this.#recorded.add(entry.id);
    }
    this.#offsets.push(offset);
    this.#lengths.push(length);
    this.#lines.push(line);
    const index = this.#offsets.length;
    this.#start ??= entry.timestamp;
    if (!this.#opts.target) this.#agents.add(entry.request.headers ?? {});
    const renderer = this.#choose(entry);
    try {
      const rendered = exchangeDoc({
        index,
        entry,
        response: responseView(entry),
        renderer,
        redactHeaders: this.#redact,
        redactUrl,
        start: this.#start,
        conversations: this.#tracker,
        full: false,
      });
      const input = modelInput(index, line, entry, renderer, {
        conversation: rendered.conversation,
        requestModel: rendered.request.model,
        response: rendered.response,
        problems: rendered.problems,
      });
      if (this.#model.add(input).length === 0) this.#other(index, entry, input.problems);
    } catch {
      // A renderer bug must not stop the index: the exchange is still listed.
      const problems = ["render failed"];
      if (this.#model.add({ index, line, entry, api: renderer.id, problems }).length === 0) {
        this.#other(index, entry, problems);
      }
    }
    return true;
  }

  /** An exchange that is no model turn (a model list, telemetry, a failed upgrade...). */
  #other(index: number, entry: Entry, problems: string[]): void {
    this.otherCount++;
    if (this.#others.length >= MAX_OTHERS) return;
    this.#others.push({
      index,
      method: String(entry.request.method ?? "?"),
      url: redactUrl(String(entry.request.url ?? "")).slice(0, 500),
      status: entry.response ? String(entry.response.status_code ?? "?") : "no response",
      problems: problems.slice(0, 5),
    });
  }

  /** The exchanges that are no model turn, in order (the first MAX_OTHERS of them). */
  others(): OtherExchange[] {
    return this.#others;
  }

  /** Exchange `index` (1-based) read back from the capture. */
  async entry(index: number): Promise<Entry | undefined> {
    const i = index - 1;
    if (!(Number.isInteger(i) && i >= 0 && i < this.#offsets.length)) return undefined;
    using file = await Deno.open(this.path, { read: true });
    return JSON.parse(await this.#line(file, i, new TextDecoder())) as Entry;
  }

  /** The text of exchange `i` (0-based) in the open capture. */
  async #line(file: Deno.FsFile, i: number, decoder: TextDecoder): Promise<string> {
    await file.seek(this.#offsets[i], Deno.SeekMode.Start);
    const buf = new Uint8Array(this.#lengths[i]);
    let at = 0;
    while (at < buf.length) {
      const n = await file.read(buf.subarray(at));
      if (n === null) break;
      at += n;
    }
    return decoder.decode(buf.subarray(0, at));
  }

  /** The renderer the index chose for an entry. */
  rendererOf(entry: Entry): Renderer {
    return this.#choose(entry);
  }

  redactHeaders(h: Record<string, string>): Record<string, string> {
    return this.#redact(h);
  }

  /**
   * Exchange indexes (1-based) whose text, redacted as the page shows it, contains `needle`
   * (lowercase), up to `limit`: a search for a secret's text must not find where it is.
   */
  async search(needle: string, limit: number): Promise<number[]> {
    const hits: number[] = [];
    if (needle === "" || this.#offsets.length === 0) return hits;
    using file = await Deno.open(this.path, { read: true });
    const decoder = new TextDecoder();
    const probe = rawProbe(needle);
    for (let i = 0; i < this.#offsets.length && hits.length < limit; i++) {
      const text = await this.#line(file, i, decoder);
      // Redaction only replaces text, so a line without the needle cannot match once redacted.
      if (probe !== null && !text.toLowerCase().includes(probe)) continue;
      let entry: Entry;
      try {
        entry = JSON.parse(text);
      } catch {
        continue; // a malformed line is no exchange
      }
      const redacted = redactEntry(entry, this.#redact);
      // The JSON text (keys, headers) and the strings as they read (quotes, non-ASCII).
      const shown = maskKeyShapes(JSON.stringify(redacted)).toLowerCase();
      if (
        shown.includes(needle) ||
        maskKeyShapes(stringValues(redacted).join("\n")).toLowerCase().includes(needle)
      ) {
        hits.push(i + 1);
      }
    }
    return hits;
  }
}

/**
 * What of a (lowercase) search can be looked for in a capture line's raw JSON text: JSON
 * writes a quote, a backslash or a control character escaped, and probe's recorder (Python's
 * json.dumps) every non-ASCII character as `\uXXXX`, so only the longest run of other
 * characters is certain to appear as typed; `null` when no run of two is left (every line is
 * then read whole).
 */
export function rawProbe(needle: string): string | null {
  const runs = needle.split(/[^\x20-\x7e]|["\\]/);
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a), "");
  return longest.length >= 2 ? longest : null;
}
