/**
 * A fake agent for the disk-full test: sends requests with 4 KB prompts to $OPENAI_BASE_URL
 * one after another, up to the count in its first argument, and notes each status in the log
 * file named by its second; it exits 0 after the last one, 1 on a failed request.
 */
const [count, log] = Deno.args;
const base = Deno.env.get("OPENAI_BASE_URL");
const prompt = "x".repeat(4096);
for (let i = 1; i <= Number(count); i++) {
  try {
    const res = await fetch(`${base}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: `${i} ${prompt}` }),
    });
    await res.arrayBuffer();
    Deno.writeTextFileSync(log, `${i} ${res.status}\n`, { append: true });
  } catch (err) {
    Deno.writeTextFileSync(log, `${i} failed: ${(err as Error).message}\n`, { append: true });
    Deno.exit(1);
  }
}
