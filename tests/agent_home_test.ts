import assert from "node:assert/strict";
import { agentHome, processesWithHome } from "./tools/agent_home.ts";

Deno.test("an agent's home stops what still runs with it as HOME", async (t) => {
  let path = "";
  let daemon: Deno.ChildProcess | undefined;
  {
    await using home = await agentHome("probe-home-test-");
    path = home.path;
    // A daemon as Cline's hub starts one: a session of its own, HOME the agent's.
    daemon = new Deno.Command("setsid", {
      args: ["sleep", "300"],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: path },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const other = `${path}-other`; // a longer HOME that starts the same: not ours
    const bystander = new Deno.Command("sleep", {
      args: ["300"],
      clearEnv: true,
      env: { HOME: other, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    }).spawn();
    try {
      await t.step("found by its HOME, and only it", async () => {
        for (let i = 0; i < 40 && processesWithHome(path).length === 0; i++) {
          await new Promise((r) => setTimeout(r, 25));
        }
        assert.deepEqual(processesWithHome(path), [daemon!.pid]);
      });
    } finally {
      bystander.kill();
      await bystander.status;
    }
  }
  await t.step("stopped, and the folder removed", async () => {
    const status = await daemon!.status;
    assert.equal(status.signal, "SIGTERM");
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});
