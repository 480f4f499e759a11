/**
 * Builds the test Collector (tests/tools/paths.ts: OTELCOL_BIN) with the official builder
 * from Go modules: `go install .../cmd/builder@vX`, then `builder --config` with a manifest
 * listing the OTLP receiver and the file exporter. Built in a temp dir and moved into place,
 * so an interrupted build never leaves a half binary in .cache. Returns why it failed, or
 * undefined.
 */
import { OTELCOL_BIN, OTELCOL_VERSION } from "./paths.ts";

const V = `v${OTELCOL_VERSION}`;

function manifest(outputPath: string): string {
  return [
    "dist:",
    "  name: otelcol-probe",
    "  description: OpenTelemetry Collector for probe's tests (OTLP receiver, file exporter)",
    `  output_path: ${outputPath}`,
    "receivers:",
    `  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver ${V}`,
    "exporters:",
    "  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter " +
    V,
    "",
  ].join("\n");
}

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<string | undefined> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (out.success) return undefined;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
  return `${cmd} ${args.join(" ")} exited with ${out.code}: ${err}`;
}

export async function buildCollector(): Promise<string | undefined> {
  try {
    await new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" }).output();
  } catch {
    return "no `go` on PATH: install Go 1.24 or newer (https://go.dev/dl/) to build the " +
      "OpenTelemetry Collector the OTLP tests export to, then rerun deno task test";
  }
  const tmp = await Deno.makeTempDir({ prefix: "probe-otelcol-" });
  try {
    // -mod=mod: the builder's generated module resolves its own requirements; GOFLAGS of the
    // user's (e.g. -buildvcs=false) are kept.
    const env = {
      GOBIN: `${tmp}/bin`,
      GOFLAGS: `${Deno.env.get("GOFLAGS") ?? ""} -mod=mod`.trim(),
    };
    const why =
      await run("go", ["install", `go.opentelemetry.io/collector/cmd/builder@${V}`], env) ??
        await Deno.writeTextFile(`${tmp}/builder.yaml`, manifest(`${tmp}/build`)) ??
        await run(`${tmp}/bin/builder`, ["--config", `${tmp}/builder.yaml`], env);
    if (why) return why;
    const dir = OTELCOL_BIN.slice(0, OTELCOL_BIN.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    const partial = `${OTELCOL_BIN}.partial-${Deno.pid}`;
    await Deno.copyFile(`${tmp}/build/otelcol-probe`, partial);
    await Deno.chmod(partial, 0o755);
    await Deno.rename(partial, OTELCOL_BIN);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const why = await buildCollector();
  if (why) {
    console.error(`build_collector: ${why}`);
    Deno.exit(1);
  }
  console.error(`build_collector: ${OTELCOL_BIN}`);
}
