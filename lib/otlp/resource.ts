/**
 * The resource every span of one probe run is reported under: which agent (the target, or
 * the agent an exported exchange's headers name) on which host, and that probe produced it.
 */
import { VERSION } from "../version.ts";
import type { Resource, Scope } from "./encode.ts";

/** Deno's architecture names as the host.arch values of the conventions. */
const ARCH: Record<string, string> = { x86_64: "amd64", aarch64: "arm64" };

export const SCOPE: Scope = { name: "probe", version: VERSION };

/** {@link probeResource} by agent, each made once: for spans that name their agent. */
export function agentResources(): (agent: string) => Resource {
  const made = new Map<string, Resource>();
  return (agent) => {
    let r = made.get(agent);
    if (!r) made.set(agent, r = probeResource(agent));
    return r;
  };
}

export function probeResource(agent: string | undefined): Resource {
  let host: string | undefined;
  try {
    host = Deno.hostname();
  } catch {
    // --allow-sys not granted: no host name.
  }
  return {
    attributes: {
      "service.name": agent ?? "probe",
      "gen_ai.agent.name": agent,
      "host.name": host,
      "host.arch": ARCH[Deno.build.arch] ?? Deno.build.arch,
      "os.type": Deno.build.os,
      "telemetry.sdk.name": "probe",
      "telemetry.sdk.version": VERSION,
    },
  };
}
