/**
 * The hash and size of each unit of a request (an item, a tool definition, the system prompt),
 * reused from the previous request of its conversation for the units equal to it. An agent
 * resends its whole history with every request, so building every unit's JSON text, hashing
 * it and counting its bytes each time did the work of the parse again (a third of analyze's
 * time on long conversations); comparing a unit with the previous request's, value to value,
 * is a native string comparison where they are equal.
 */
import { sameJson } from "../conversation.ts";
import { hashNumber } from "../text_hash.ts";
import { utf8Length } from "../stats.ts";

/** A unit as the renderers' facts give it (lib/types.ts `FactItem`, a tool, the system). */
export interface Unit {
  /** Its identity: JSON text, cache markers left out (built when read). */
  readonly key: string;
  /** The value it is in the request, to compare with the previous request's unit. */
  readonly raw?: unknown;
  readonly role?: string;
}

/** The units of one kind of a request, with their hashes and UTF-8 sizes. */
export interface Digests {
  raws: unknown[];
  roles: (string | undefined)[];
  hashes: number[];
  bytes: number[];
}

const NO_DIGESTS: Digests = { raws: [], roles: [], hashes: [], bytes: [] };

/**
 * The digests of `units`: a unit at the same place as an equal one in `previous` (same role,
 * same value) takes its hash and size; the others are computed from their key.
 */
export function unitDigests(units: readonly Unit[], previous: Digests = NO_DIGESTS): Digests {
  const out: Digests = { raws: [], roles: [], hashes: [], bytes: [] };
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const same = i < previous.raws.length && u.raw !== undefined &&
      u.role === previous.roles[i] && sameJson(u.raw, previous.raws[i]);
    out.raws.push(u.raw);
    out.roles.push(u.role);
    if (same) {
      out.hashes.push(previous.hashes[i]);
      out.bytes.push(previous.bytes[i]);
    } else {
      const key = u.key;
      out.hashes.push(hashNumber(key));
      out.bytes.push(utf8Length(key));
    }
  }
  return out;
}
