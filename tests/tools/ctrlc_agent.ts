/**
 * A fake interactive agent for the Ctrl+C test: like interactive Claude Code and Codex, it
 * survives a Ctrl+C (it cancels a "turn") and goes on talking to the model API. Every event
 * goes to the log file named by its first argument, one line each:
 * `turn 1 200`, `SIGINT 1`, `after-cancel 200` (or `after-cancel failed: ...`).
 * With `--exit-after-cancel` it exits 3 by itself once the request after the cancel is done.
 */
const [log, ...flags] = Deno.args;
const base = Deno.env.get("OPENAI_BASE_URL");
const note = (line: string) => Deno.writeTextFileSync(log, line + "\n", { append: true });

async function turn(name: string): Promise<void> {
  try {
    const res = await fetch(`${base}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: name }),
    });
    await res.arrayBuffer();
    note(`${name} ${res.status}`);
  } catch (err) {
    note(`${name} failed: ${(err as Error).message}`);
  }
}

let interrupts = 0;
Deno.addSignalListener("SIGINT", () => {
  interrupts++;
  note(`SIGINT ${interrupts}`);
  if (interrupts === 1) {
    turn("after-cancel").then(() => {
      if (flags.includes("--exit-after-cancel")) Deno.exit(3);
    });
  }
});
await turn("turn 1");
note("ready");
await new Promise((r) => setTimeout(r, 300_000));
