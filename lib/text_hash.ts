/** Hashes that identify texts and JSON values in less memory than the texts themselves. */

/** A fast, non-cryptographic 53-bit string hash (cyrb53), as base-36 text. */
export function hashText(text: string): string {
  return hashNumber(text).toString(36);
}

/**
 * {@link hashText} as a number (a 53-bit integer): 8 bytes in an array, no string to keep.
 * `seed` picks another hash of the same family (cyrb53's seeding).
 */
export function hashNumber(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The JSON text of a value: what an idle conversation keeps a hash of for each item and tool
 * definition (lib/conversation.ts).
 */
export function itemKey(value: unknown): string {
  return JSON.stringify(value) ?? "undefined";
}
