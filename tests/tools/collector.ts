/**
 * A real OpenTelemetry Collector for the OTLP tests (built by setup.ts): OTLP/HTTP receiver on
 * a free loopback port, file exporter writing one OTLP-JSON line per export. `spans()` reads
 * what it wrote; `stop()` (or `await using`) ends it and removes its folder.
 */
import { OTELCOL_BIN } from "./paths.ts";

export interface CollectedSpan {
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
  span: Record<string, unknown>;
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(port: number, child: Deno.ChildProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < until) {
    if (exited) throw new Error(`collector exited before listening on ${port}`);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`collector not listening on ${port} after ${ms} ms`);
}

export class Collector implements AsyncDisposable {
  #child?: Deno.ChildProcess;
  #log: Uint8Array[] = [];

  private constructor(readonly dir: string, readonly port: number) {}

  /** The base URL probe is given (`--otlp`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get file(): string {
    return `${this.dir}/spans.jsonl`;
  }

  /** Starts a Collector; `port` reuses one (a Collector that comes back). */
  static async start(port = freePort(), dir?: string): Promise<Collector> {
    dir ??= await Deno.makeTempDir({ prefix: "probe-otelcol-test-" });
    const c = new Collector(dir, port);
    await c.#spawn();
    return c;
  }

  async #spawn(): Promise<void> {
    const config = `${this.dir}/config.yaml`;
    await Deno.writeTextFile(
      config,
      [
        "receivers:",
        "  otlp:",
        "    protocols:",
        "      http:",
        `        endpoint: 127.0.0.1:${this.port}`,
        "exporters:",
        "  file:",
        `    path: ${this.file}`,
        "    format: json",
        "    flush_interval: 100ms",
        "service:",
        "  telemetry:",
        "    metrics:",
        "      level: none",
        "  pipelines:",
        "    traces:",
        "      receivers: [otlp]",
        "      exporters: [file]",
        "",
      ].join("\n"),
    );
    this.#child = new Deno.Command(OTELCOL_BIN, {
      args: ["--config", config],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const log = this.#log;
    this.#child.stderr.pipeTo(
      new WritableStream({
        write(chunk) {
          log.push(chunk);
        },
      }),
    ).catch(() => {});
    try {
      await waitForPort(this.port, this.#child, 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.log()}`);
    }
  }

  log(): string {
    const text = this.#log.map((c) => new TextDecoder().decode(c)).join("");
    return text.split("\n").slice(-20).join("\n");
  }

  /** The file exporter's raw lines (one ExportTraceServiceRequest each). */
  async lines(): Promise<Record<string, unknown>[]> {
    let text = "";
    try {
      text = await Deno.readTextFile(this.file);
    } catch {
      return [];
    }
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  /** Every span written so far, with its resource and scope. */
  async spans(): Promise<CollectedSpan[]> {
    const out: CollectedSpan[] = [];
    for (const line of await this.lines()) {
      for (const rs of (line.resourceSpans ?? []) as Record<string, unknown>[]) {
        const resource = attrs((rs.resource as { attributes?: unknown[] })?.attributes ?? []);
        for (const ss of (rs.scopeSpans ?? []) as Record<string, unknown>[]) {
          for (const span of (ss.spans ?? []) as Record<string, unknown>[]) {
            out.push({ resource, scope: (ss.scope ?? {}) as CollectedSpan["scope"], span });
          }
        }
      }
    }
    return out;
  }

  /** Waits until at least `n` spans are in the file (the exporter flushes on a timer). */
  async waitForSpans(n: number, ms = 15_000): Promise<CollectedSpan[]> {
    const until = Date.now() + ms;
    for (;;) {
      const spans = await this.spans();
      if (spans.length >= n || Date.now() > until) return spans;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the Collector, keeping its folder (for a restart on the same port). */
  async kill(): Promise<void> {
    if (!this.#child) return;
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // exited already
    }
    await this.#child.status;
    this.#child = undefined;
  }

  /** Starts it again on the same port and file. */
  async restart(): Promise<void> {
    await this.#spawn();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/** OTLP KeyValues to a plain object: values unwrapped as the Collector wrote them. */
export function attrs(list: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list as { key: string; value: Record<string, unknown> }[]) {
    out[kv.key] = unwrap(kv.value);
  }
  return out;
}

export function unwrap(v: Record<string, unknown>): unknown {
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return v.doubleValue;
  if ("arrayValue" in v) {
    return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(unwrap);
  }
  if ("kvlistValue" in v) {
    return attrs((v.kvlistValue as { values?: unknown[] }).values ?? []);
  }
  return v;
}
