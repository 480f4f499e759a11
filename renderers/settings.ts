/**
 * Request settings: the label/value rows of known keys and the "Other settings" of the rest.
 *
 * @module
 */

import { type JsonObject, remainingKeys, str } from "../lib/json.ts";
import type { Block, RequestParts } from "../lib/types.ts";
import { code, heading } from "./blocks.ts";
import { excerpt } from "./text.ts";
import { prettyJson } from "./values.ts";

/** One request setting shown as a label/value row: top-level key, label, formatter. */
export type FieldSpec = [key: string, label: string, format: (value: unknown) => string];

/** Longest settings value; longer ones are cut and listed again under "Other settings". */
export const MAX_FIELD = 200;

/**
 * Label/value rows for the `specs` keys present in `body`, in spec order, and the keys whose
 * value was longer than {@link MAX_FIELD} (cut here, so they belong in "Other settings" too).
 */
export function settingsRows(
  body: JsonObject,
  specs: readonly FieldSpec[],
): { rows: [string, string][]; cut: Set<string> } {
  const rows: [string, string][] = [];
  const cut = new Set<string>();
  for (const [key, label, format] of specs) {
    if (!(key in body)) continue;
    const setting = settingRow(label, format(body[key]));
    rows.push(setting.row);
    if (setting.cut) cut.add(key);
  }
  return { rows, cut };
}

/**
 * One settings row, its value cut to {@link MAX_FIELD}; `cut` says it was (the key then
 * belongs in "Other settings" too).
 */
export function settingRow(label: string, value: string): { row: [string, string]; cut: boolean } {
  return { row: [label, excerpt(value, MAX_FIELD)], cut: value.length > MAX_FIELD };
}

/** "Other settings" heading and the settings as pretty JSON; nothing when there are none. */
export function otherSettings(rest: JsonObject | undefined): Block[] {
  if (!rest || Object.keys(rest).length === 0) return [];
  return [heading("Other settings"), code(prettyJson(rest, 300), "json")];
}

/**
 * Request parts to fill in: the settings rows of `specs` and the model. `cut` holds the keys
 * whose row had to be cut (see {@link settingsRows}).
 */
export function settingsParts(
  body: JsonObject,
  specs: readonly FieldSpec[],
): { parts: RequestParts; cut: Set<string> } {
  const { rows, cut } = settingsRows(body, specs);
  const parts: RequestParts = { fields: rows, extra: [] };
  const model = str(body.model);
  if (model) parts.model = model;
  return { parts, cut };
}

/**
 * "Other settings": the keys of `body` that neither have a section of their own (`sections`)
 * nor a settings row of `specs` that showed them whole (not in `cut`, and `shownWhole` agrees).
 */
export function otherSettingsFor(
  body: JsonObject,
  sections: readonly string[],
  specs: readonly FieldSpec[],
  cut: ReadonlySet<string>,
  shownWhole: (key: string) => boolean = () => true,
): Block[] {
  const shown = new Set(sections);
  for (const [key] of specs) if (!cut.has(key) && shownWhole(key)) shown.add(key);
  return otherSettings(remainingKeys(body, shown));
}
