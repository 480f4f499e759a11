/**
 * Sizes of base64 data, without decoding it.
 *
 * @module
 */

/**
 * Size in bytes of the data a base64 string encodes (whitespace ignored, `=` padding
 * honoured). Not a validator: odd input just gives an estimate. Data without whitespace (the
 * usual case, often megabytes of image) is measured without copying it.
 */
export function base64Bytes(data: string): number {
  const clean = /\s/.test(data) ? data.replace(/\s+/g, "") : data;
  const padding = clean.endsWith("==") ? 2 : clean.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor(clean.length * 3 / 4) - padding);
}
