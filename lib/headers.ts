import type { Headers } from "./types.ts";

/** A header's value by case-insensitive name, or "" when absent. */
export function getHeader(headers: Headers, name: string): string {
  const wanted = name.toLowerCase();
  for (const key in headers) {
    if (key.toLowerCase() === wanted) return headers[key];
  }
  return "";
}
