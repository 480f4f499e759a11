/**
 * The truthfulness check of one agent CLI: the same prompt (a tool round trip where the agent
 * offers tools) run directly against a fake upstream and through `probe capture` in the given
 * modes, each on its own fake upstream and throw-away HOME, all at once; the model requests
 * each fake received, as method, path, model and stream flag in order, must be the same.
 */
import { agentHome } from "./agent_home.ts";
import assert from "node:assert/strict";
import { type ReceivedRequest, startFakeUpstream } from "../fake_upstream.ts";
import { type Agent, captureAgent, runDirect } from "./agent_runs.ts";
import type { Mitmdump } from "./paths.ts";

/** What must not differ between the runs: one line per model request. */
export function requestShape(requests: readonly ReceivedRequest[]): string[] {
  return requests.filter((r) => r.api !== undefined || r.headers.upgrade === "websocket")
    .map((r) => {
      let model = r.model ?? "-";
      let stream = "-";
      try {
        const body = JSON.parse(new TextDecoder().decode(r.body));
        model = body?.model ?? model;
        stream = String(body?.stream ?? "-");
      } catch {
        // no JSON body (a WebSocket upgrade; a compressed body keeps the fake's model)
      }
      return `${r.method} ${r.path.split("?")[0]} model=${model} stream=${stream}`;
    });
}

type Mode = "reverse" | "forward";

async function inHome<T>(name: string, run: (home: string) => Promise<T>): Promise<T> {
  await using home = await agentHome(`probe-truthful-${name}-`);
  return await run(home.path);
}

/** Registers the test: direct and every mode in `modes`, compared request by request. */
export function truthfulTest(agent: Agent, modes: Mode[], mitmdump: Mitmdump): void {
  const name = `${agent.bin}-${agent.mode ?? "reverse"}`;
  const what = agent.label ?? `probe capture ${agent.target} -- ${agent.bin}`;
  Deno.test(
    `same model requests directly and through probe (${modes.join(", ")}): ${what} ` +
      `[mitmproxy ${mitmdump.version}]`,
    async () => {
      const direct = inHome(`${name}-direct`, async (home) => {
        await using upstream = await startFakeUpstream();
        await runDirect(agent, upstream, home);
        return requestShape(upstream.requests);
      });
      const captured = modes.map((mode) =>
        inHome(`${name}-${mode}`, async (home) => {
          await using upstream = await startFakeUpstream();
          await captureAgent({ ...agent, mode }, upstream, home, mitmdump);
          return requestShape(upstream.requests);
        })
      );
      const [want, ...got] = await Promise.all([direct, ...captured]);
      assert.ok(want.length >= (agent.tool === null ? 1 : 2), want.join("\n"));
      modes.forEach((mode, i) => assert.deepEqual(got[i], want, `${mode} mode`));
    },
  );
}
