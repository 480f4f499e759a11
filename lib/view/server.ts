/**
 * `probe view`'s web server: 127.0.0.1 only, every URL under a random token
 * (`/t/TOKEN/…`), requests for any other Host refused (a DNS-rebinding page cannot talk to
 * it), no CORS headers, and a Content-Security-Policy that lets the page load its own script
 * and style and talk to this server only. The page gets the model over JSON and follows
 * changes over server-sent events.
 */
import css from "../view_assets/app.css" with { type: "text" };
import script from "../view_assets/app.js" with { type: "text" };
import page from "../view_assets/index.html" with { type: "text" };
import { ProbeError } from "../errors.ts";
import { maskEmbeddedIn, maskKeyShapes } from "../redact.ts";
import { visibleName, visibleText } from "../visible.ts";
import type { PriceTable } from "../prices.ts";
import type { Renderer, Target } from "../types.ts";
import { CaptureIndex } from "./index.ts";
import { turnDetail } from "./detail.ts";
import { searchSnippet } from "./snippet.ts";
import { redactEntry } from "../redact_entry.ts";

export const VIEW_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; " +
  "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; " +
  "frame-ancestors 'none'";

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">` +
  `<circle cx="8" cy="8" r="7" fill="#3b5bdb"/></svg>`;

export interface ViewOptions {
  paths: string[];
  port?: number;
  /** The agent named by `--target`, if any (see IndexOptions). */
  target?: Target;
  targets: readonly Target[];
  renderers: ReadonlyMap<string, Renderer>;
  prices: PriceTable;
  /** Keep reading the captures as they grow (live capture). */
  follow: boolean;
  /** The recorder's in-flight file for the first path (`probe capture --view`). */
  inflight?: string;
  /** A fixed token (tests); random otherwise. */
  token?: string;
}

export interface ViewServer extends AsyncDisposable {
  url: string;
  port: number;
  token: string;
  indexes: CaptureIndex[];
  /** Whether a page follows the viewer's events now (someone is looking). */
  watched(): boolean;
  /**
   * The followed captures stopped growing (`probe capture` stopped its recorder): they are
   * read to their end and the page is told the capture ended; the viewer keeps serving.
   */
  end(): void;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": VIEW_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
};

function respond(body: BodyInit | null, status: number, type: string): Response {
  return new Response(body, {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": type },
  });
}

/** Fields of the answers that hold a name (a tool's, a model's, a role) rather than text. */
const NAME_FIELDS = new Set(["name", "callId", "model", "toolName", "role", "agent", "method"]);
/** Fields that hold a list of names. */
const NAME_LISTS = new Set(["names", "added", "removed", "changed", "apis"]);

/**
 * What the page is sent hides nothing: controls, bidi overrides and isolates and zero-width
 * characters in any string become visible stand-ins (as in the reports), and in names also
 * the other invisible format characters, so a capture cannot reorder what is shown or make
 * two tools look alike.
 */
function visibleJson(value: unknown): string {
  return JSON.stringify(value, (key, v) => {
    if (typeof v === "string") return NAME_FIELDS.has(key) ? visibleName(v) : visibleText(v);
    if (Array.isArray(v) && NAME_LISTS.has(key)) {
      return v.map((x) => typeof x === "string" ? visibleName(x) : x);
    }
    return v;
  });
}

/**
 * Every JSON answer with key shapes and secret fields written as JSON text masked, as analyze
 * masks its written text: conversation titles, previews and snippets quote prompts and tool
 * output, which may hold a key or a pasted config (`{"apiKey": "…"}`).
 */
const json = (value: unknown) =>
  respond(maskKeyShapes(visibleJson(maskEmbeddedIn(value))), 200, "application/json");
const text = (status: number, message: string) =>
  respond(message + "\n", status, "text/plain; charset=utf-8");

/** An exchange's number (1, 2, ...) as a query parameter gives it, else undefined. */
const exchangeNumber = (value: string | null) =>
  value !== null && /^[1-9][0-9]{0,14}$/.test(value) ? Number(value) : undefined;

function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Constant-time comparison, so the token cannot be guessed a character at a time. */
function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Starts the viewer; the indexes start reading at once. */
export function startViewer(opts: ViewOptions): ViewServer {
  const token = opts.token ?? randomToken();
  const listeners = new Set<() => void>();
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let rev = 0;
  let pendingNotify: ReturnType<typeof setTimeout> | undefined;
  const notify = () => {
    rev++;
    if (pendingNotify !== undefined) return;
    // Coalesced: a burst of exchanges is one update, at most every 100 ms; while a capture is
    // first read, every 500 ms, so the page is not busy reloading what keeps growing.
    const reading = indexes.some((ix) => !ix.caughtUp);
    pendingNotify = setTimeout(() => {
      pendingNotify = undefined;
      for (const l of listeners) l();
    }, reading ? 500 : 100);
  };
  const indexes = opts.paths.map((path, i) =>
    new CaptureIndex({
      id: String(i + 1),
      path,
      ...(opts.target ? { target: opts.target } : {}),
      targets: opts.targets,
      renderers: opts.renderers,
      prices: opts.prices,
      follow: opts.follow,
      onChange: notify,
      ...(i === 0 && opts.inflight ? { inflight: opts.inflight } : {}),
    })
  );
  const runs = indexes.flatMap((ix) => [ix.run(), ix.followInflight()]);
  const following = () => indexes.some((ix) => ix.following);
  const byId = new Map(indexes.map((ix) => [ix.id, ix]));
  let host = "";

  const summaries = () =>
    indexes.map((ix) => {
      const { conversations: _c, ...summary } = ix.session();
      return {
        ...summary,
        indexing: !ix.caughtUp,
        inflight: ix.inflight(),
        malformed: ix.malformed,
        otherCount: ix.otherCount,
        bytesIndexed: ix.bytesIndexed,
        size: ix.size,
        error: ix.error ?? null,
      };
    });

  /**
   * A session with every conversation's summary and the turns of one (`c`, else the first):
   * a large capture's session would be megabytes of turns on every update otherwise.
   */
  const sessionPayload = (sid: string | null, c: string | null) => {
    const ix = byId.get(sid ?? "");
    if (!ix) return undefined;
    const session = ix.session();
    const asked = Number(c);
    const conv = session.conversations.find((x) => x.id === asked) ?? session.conversations[0];
    return {
      conv: conv?.id ?? null,
      others: ix.others(),
      session: {
        ...session,
        conversations: session.conversations.map((x) => ({
          ...x,
          turnCount: x.turns.length,
          turns: x === conv ? x.turns : [],
        })),
      },
    };
  };

  const handler = async (req: Request): Promise<Response> => {
    // DNS rebinding: a page from another origin resolving its name to 127.0.0.1 sends its own
    // name as Host. Only the address this server listens on is accepted.
    const url = new URL(req.url);
    // A request line naming another authority (absolute form) is refused like another Host.
    if (req.headers.get("host") !== host || url.host !== host) return text(421, "wrong Host");
    const prefix = `/t/`;
    if (!url.pathname.startsWith(prefix)) return text(403, "forbidden: this URL needs the token");
    const rest = url.pathname.slice(prefix.length);
    const slash = rest.indexOf("/");
    const given = slash === -1 ? rest : rest.slice(0, slash);
    if (!sameToken(given, token)) return text(403, "forbidden: wrong token");
    if (req.method !== "GET") return text(405, "only GET");
    const route = slash === -1 ? "" : rest.slice(slash + 1);
    switch (route) {
      case "":
        return respond(page, 200, "text/html; charset=utf-8");
      case "app.js":
        return respond(script, 200, "text/javascript; charset=utf-8");
      case "favicon.svg":
        return respond(FAVICON, 200, "image/svg+xml");
      case "app.css":
        return respond(css, 200, "text/css; charset=utf-8");
      case "api/sessions":
        return json({ rev, follow: following(), sessions: summaries() });
      case "api/session": {
        const payload = sessionPayload(url.searchParams.get("s"), url.searchParams.get("c"));
        if (!payload) return text(404, "no such session");
        return json({ rev, ...payload });
      }
      case "api/state": {
        // What the page draws, in one request: the sessions and the open one (the first one
        // unless `s` names another) with the turns of one conversation.
        const sid = url.searchParams.get("s") || indexes[0]?.id || "";
        const payload = sessionPayload(sid, url.searchParams.get("c"));
        return json({
          rev,
          follow: following(),
          sessions: summaries(),
          sid: payload ? sid : null,
          conv: payload?.conv ?? null,
          others: payload?.others ?? [],
          session: payload?.session ?? null,
        });
      }
      case "api/turn": {
        const ix = byId.get(url.searchParams.get("s") ?? "");
        const index = exchangeNumber(url.searchParams.get("i"));
        const prev = exchangeNumber(url.searchParams.get("prev"));
        const entry = ix && index ? await ix.entry(index) : undefined;
        if (!ix || !index || !entry) return text(404, "no such exchange");
        const previous = prev ? await ix.entry(prev) : undefined;
        // A turn that is one call of an exchange carrying several (a WebSocket's turns).
        const calls = {
          call: exchangeNumber(url.searchParams.get("c")),
          previous: exchangeNumber(url.searchParams.get("pc")),
        };
        return json(
          turnDetail(
            index,
            entry,
            previous,
            ix.rendererOf(entry),
            (h) => ix.redactHeaders(h),
            calls,
          ),
        );
      }
      case "api/search": {
        const q = (url.searchParams.get("q") ?? "").toLowerCase().slice(0, 200);
        const hits = [];
        for (const ix of indexes) {
          const found = await ix.search(q, 200);
          if (found.length === 0) continue;
          const convOf = new Map<number, number>();
          for (const c of ix.session().conversations) {
            for (const t of c.turns) convOf.set(t.index, c.id);
          }
          for (const i of found) {
            const entry = await ix.entry(i);
            hits.push({
              session: ix.id,
              index: i,
              conversation: convOf.get(i) ?? null,
              snippet: entry
                ? searchSnippet(redactEntry(entry, (h) => ix.redactHeaders(h)), q)
                : null,
            });
          }
        }
        return json({ q, hits });
      }
      case "api/events": {
        let close: () => void = () => {};
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            const enc = new TextEncoder();
            const send = () => {
              try {
                controller.enqueue(enc.encode(`event: update\ndata: ${rev}\n\n`));
              } catch {
                listeners.delete(send);
              }
            };
            listeners.add(send);
            streams.add(controller);
            close = () => {
              listeners.delete(send);
              streams.delete(controller);
            };
            controller.enqueue(enc.encode(`retry: 1000\n\n`));
            send();
          },
          cancel() {
            close();
          },
        });
        return respond(body, 200, "text/event-stream");
      }
      default:
        return text(404, "not found");
    }
  };

  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname: "127.0.0.1",
      port: opts.port ?? 0,
      onListen: () => {},
      handler,
      // A failure answers like every other answer (same headers) and prints nothing: the
      // terminal belongs to probe's own lines (and, in capture, to the agent).
      onError: () => text(500, "internal error"),
    });
  } catch (err) {
    for (const ix of indexes) ix.close();
    throw new ProbeError(
      `cannot listen on 127.0.0.1:${opts.port ?? 0}: ${(err as Error).message}` +
        (opts.port ? "; pick another --port or leave it out for a free one" : ""),
    );
  }
  const port = (server.addr as Deno.NetAddr).port;
  host = `127.0.0.1:${port}`;
  const close = async () => {
    for (const ix of indexes) ix.close();
    if (pendingNotify !== undefined) clearTimeout(pendingNotify);
    // Open event streams would hold the shutdown forever.
    for (const c of streams) {
      try {
        c.close();
      } catch {
        // already closed by the page
      }
    }
    await server.shutdown();
    await Promise.allSettled(runs);
  };
  return {
    url: `http://${host}/t/${token}/`,
    port,
    token,
    indexes,
    watched: () => streams.size > 0,
    end() {
      for (const ix of indexes) ix.end();
      notify();
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
