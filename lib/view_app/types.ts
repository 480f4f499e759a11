/** What the viewer's server sends the page (lib/view/server.ts); the model's own types. */
import type { Conversation, Session, Turn } from "../model/types.ts";
import type { TurnDetail } from "../view/detail.ts";
import type { Snippet } from "../view/snippet.ts";
import type { OtherExchange } from "../view/index.ts";

export type { OtherExchange };

export type { Conversation, Session, Turn, TurnDetail };

export interface InflightRow {
  id: string;
  start: number;
  method: string;
  url: string;
}

/** A session in the sessions list: the model's summary plus the index's progress. */
export interface SessionSummary extends Omit<Session, "conversations"> {
  indexing: boolean;
  inflight: InflightRow[];
  malformed: number;
  /** Exchanges that are no model turn. */
  otherCount: number;
  bytesIndexed: number;
  size: number;
  error: string | null;
}

/** A conversation as `api/state` sends it: only the open one has its turns. */
export interface ConvSummary extends Conversation {
  turnCount: number;
}

export interface OpenSession extends Omit<Session, "conversations"> {
  conversations: ConvSummary[];
}

export interface StatePayload {
  rev: number;
  follow: boolean;
  sessions: SessionSummary[];
  sid: string | null;
  conv: number | null;
  /** The open session's exchanges that are no model turn. */
  others: OtherExchange[];
  session: OpenSession | null;
}

export interface SearchHit {
  session: string;
  index: number;
  conversation: number | null;
  snippet: Snippet | null;
}

export async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return await res.json() as T;
}
