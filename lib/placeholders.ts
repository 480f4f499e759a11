/**
 * Fills the placeholders a target may use in `env`, `manualSteps` and `commandArgs`:
 * `{NAME.port}` (the port the proxy called NAME listens on) and `{NAME.url}`
 * (`http://127.0.0.1:PORT`), always with the ports actually in use.
 */
import { ProbeError } from "./errors.ts";

const PLACEHOLDER = /\{([A-Za-z0-9_-]+)\.(port|url)\}/g;

/** Proxy name -> port in use. */
export type PortMap = ReadonlyMap<string, number>;

export function proxyUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/** Replaces every `{NAME.port}` / `{NAME.url}`; an unknown NAME is a target bug: ProbeError. */
export function fillPlaceholders(text: string, ports: PortMap): string {
  return text.replace(PLACEHOLDER, (_match, name: string, kind: string) => {
    const port = ports.get(name);
    if (port === undefined) {
      const known = [...ports.keys()].join(", ") || "none";
      throw new ProbeError(
        `placeholder {${name}.${kind}} names no proxy of this target (proxies: ${known}): fix the target definition`,
      );
    }
    return kind === "port" ? String(port) : proxyUrl(port);
  });
}

export function fillEnv(env: Record<string, string>, ports: PortMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) out[key] = fillPlaceholders(value, ports);
  return out;
}

export function fillAll(items: readonly string[], ports: PortMap): string[] {
  return items.map((s) => fillPlaceholders(s, ports));
}
