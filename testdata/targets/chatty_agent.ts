// The "agent" of chatty.jsonc: one streamed Chat Completions turn, then one non-streamed turn,
// against $CHATTY_BASE_URL with $CHATTY_API_KEY; prints both answers. No imports: it runs with
// only --allow-net and --allow-env.
const base = Deno.env.get("CHATTY_BASE_URL");
const key = Deno.env.get("CHATTY_API_KEY");
if (!base || !key) {
  console.error("chatty: set CHATTY_BASE_URL and CHATTY_API_KEY");
  Deno.exit(2);
}
const prompt = Deno.args[0] ?? "hello";

async function turn(stream: boolean, text: string): Promise<string> {
  const res = await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "authorization": `Bearer ${key}`,
      "x-chatty-session": "chatty-session-0001",
    },
    body: JSON.stringify({
      model: "chatty-1",
      stream,
      ...(stream ? { stream_options: { include_usage: true } } : {}),
      messages: [
        { role: "system", content: "You are chatty." },
        { role: "user", content: text },
      ],
    }),
  });
  if (!res.ok) throw new Error(`chatty: HTTP ${res.status}`);
  if (!stream) return (await res.json()).choices[0].message.content;
  let answer = "";
  for (const block of (await res.text()).split("\n\n")) {
    const data = block.replace(/^data: /, "").trim();
    if (!data || data === "[DONE]") continue;
    for (const c of JSON.parse(data).choices ?? []) answer += c.delta?.content ?? "";
  }
  return answer;
}

console.log(await turn(true, prompt));
console.log(await turn(false, `${prompt} (again)`));
