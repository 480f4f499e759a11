/**
 * The parse floor: the least work any analyzer must do on a capture. Streams the file line by
 * line, JSON.parses each line and the data of every SSE event, and nothing else.
 * Usage: deno run --allow-read bench/parse_floor.ts FILE
 */
const file = await Deno.open(Deno.args[0]);
let pending = "";
let lines = 0;
let events = 0;

function sseData(body: string): void {
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf("\n", start);
    if (end === -1) end = body.length;
    if (body.startsWith("data: ", start)) {
      const data = body.slice(start + 6, end);
      if (data !== "[DONE]") {
        JSON.parse(data);
        events++;
      }
    }
    start = end + 1;
  }
}

function line(text: string): void {
  if (text === "") return;
  const entry = JSON.parse(text);
  lines++;
  const body = entry.response?.body;
  if (typeof body === "string") sseData(body);
}

for await (const chunk of file.readable.pipeThrough(new TextDecoderStream())) {
  let start = 0;
  let nl = chunk.indexOf("\n");
  while (nl !== -1) {
    line(pending + chunk.slice(start, nl));
    pending = "";
    start = nl + 1;
    nl = chunk.indexOf("\n", start);
  }
  pending += chunk.slice(start);
}
line(pending);
console.log(JSON.stringify({ lines, events }));
