/**
 * What the model builder (build.ts) takes of one exchange, from what a writer's pipeline
 * already rendered of it (its conversation, the response's usage, model and calls) and the
 * renderer's request facts: the report, the viewer and OTLP feed the model the same way.
 */
import type { Entry, ModelCall, RenderedBody, Renderer, RequestFacts } from "../types.ts";
import type { CallInput, ExchangeInput } from "./build.ts";

/** What a writer rendered of an exchange that the model needs. */
export interface RenderedForModel {
  /** The conversation the tracker assigned (absent for requests no renderer understood). */
  conversation?: { id: number; basis: string };
  /** The model the request asked for. */
  requestModel?: string;
  response?: RenderedBody;
  problems: string[];
}

/** The builder's input for an exchange (with one input per call when it carries several). */
export function modelInput(
  index: number,
  line: number,
  entry: Entry,
  renderer: Renderer,
  rendered: RenderedForModel,
): ExchangeInput {
  const x: ExchangeInput = { index, line, entry, api: renderer.id, problems: rendered.problems };
  if (rendered.conversation) {
    x.conversation = { id: rendered.conversation.id, basis: rendered.conversation.basis };
    const facts = requestFacts(renderer, entry);
    if (facts) x.facts = facts;
  }
  const usage = rendered.response?.usage;
  if (usage) x.usage = usage;
  const m = rendered.response?.model ?? rendered.requestModel;
  if (m) x.model = m;
  const calls = rendered.response?.calls;
  if (calls) x.calls = calls.map((c) => callInput(renderer, c));
  return x;
}

function callInput(renderer: Renderer, call: ModelCall): CallInput {
  const c: CallInput = {
    number: call.number,
    entry: call.entry,
    problems: call.problems,
    facts: () => requestFacts(renderer, wholeRequest(call)),
  };
  if (call.response?.usage) c.usage = call.response.usage;
  // The model asked for is the same in the body as sent as in the whole request.
  const m = call.response?.model ?? requestFacts(renderer, call.entry)?.model;
  if (m) c.model = m;
  return c;
}

/**
 * A call's entry with the request the server saw (`ModelCall.wholeBody`), for what compares
 * requests (facts, the conversation's delta); the entry itself when the call sent it whole.
 */
export function wholeRequest(call: ModelCall): Entry {
  if (!call.wholeBody) return call.entry;
  const { body_encoding: _, body_size: __, ...request } = call.entry.request;
  return { ...call.entry, request: { ...request, body: call.wholeBody() } };
}

/** The renderer's facts of an entry's request; undefined when it has none for it. */
export function requestFacts(renderer: Renderer, entry: Entry): RequestFacts | undefined {
  if (!renderer.requestFacts || entry.request.body_encoding === "base64") return undefined;
  try {
    return renderer.requestFacts(entry.request.body, entry);
  } catch {
    return undefined; // the report shows the body; the model counts no turn for it
  }
}
