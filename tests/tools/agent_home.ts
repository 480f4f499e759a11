/**
 * A temporary HOME for one agent run. Some agents leave a process behind that outlives the run:
 * Cline's hub daemon moves into a session of its own, so neither the agent's handle nor its
 * process group reaches it, and it kept running after the test removed its home. Every process
 * started with this HOME descends from the run (the folder's name is random), so at the end
 * those still running are stopped (SIGTERM, SIGKILL after a second) before the folder goes.
 */

/** The processes whose environment has `HOME=home`. */
export function processesWithHome(home: string): number[] {
  const needle = new TextEncoder().encode(`HOME=${home}\0`);
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    let env: Uint8Array;
    try {
      env = Deno.readFileSync(`/proc/${e.name}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (hasVariable(env, needle)) out.push(Number(e.name));
  }
  return out;
}

/** Whether `env` (NUL-separated) holds `needle` as one whole variable. */
function hasVariable(env: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= env.length; i++) {
    if (i > 0 && env[i - 1] !== 0) continue;
    for (let j = 0; j < needle.length; j++) if (env[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface AgentHome extends AsyncDisposable {
  path: string;
}

/** Makes the folder; disposing stops what still runs with it as HOME, then removes it. */
export async function agentHome(prefix: string): Promise<AgentHome> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      const left = processesWithHome(path);
      for (const pid of left) signal(pid, "SIGTERM");
      for (let waited = 0; waited < 1000 && processesWithHome(path).length > 0; waited += 50) {
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const pid of processesWithHome(path)) signal(pid, "SIGKILL");
      await Deno.remove(path, { recursive: true });
    },
  };
}
