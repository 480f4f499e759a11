/**
 * Runs a command and measures its wall time and, when asked, its peak resident memory (Linux
 * /proc). Timing and memory come from separate runs: polling /proc every few milliseconds takes
 * CPU from the command on a small machine, and takes more from a command that uses both cores.
 */

export interface Measurement {
  seconds: number;
  /** Peak RSS in MB (VmHWM), sampled every few milliseconds until the process exits; 0 when
   * memory was not sampled. */
  peakMb: number;
  code: number;
  stdout: string;
  stderr: string;
}

async function readHwm(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined; // the process has exited
  }
}

export async function measure(
  cmd: string,
  args: string[],
  { memory = false }: { memory?: boolean } = {},
): Promise<Measurement> {
  const started = performance.now();
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).spawn();
  let peak = 0;
  let done = false;
  const output = child.output().finally(() => {
    done = true;
  });
  // VmHWM is the process's own high-water mark, so sampling misses at most the last interval.
  while (memory && !done) {
    const hwm = await readHwm(child.pid);
    if (hwm !== undefined) peak = Math.max(peak, hwm);
    await new Promise((r) => setTimeout(r, 5));
  }
  const out = await output;
  const seconds = (performance.now() - started) / 1000;
  const dec = new TextDecoder();
  return {
    seconds,
    peakMb: peak,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}
