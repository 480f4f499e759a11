/**
 * `probe ca`: makes probe's CA if it does not exist yet (by starting forward mode's mitmdump
 * once, which creates it in its confdir) and says where it is and how to trust it.
 */
import { caExists, caPaths, finishCa, prepareCaDir, trustInstructions } from "../ca.ts";
import { checkMitmdumpVersion, locateMitmdump } from "./mitmdump.ts";
import { CaptureSession } from "./session.ts";
import type { Target } from "../types.ts";

export interface CaContext {
  print: (line: string) => void;
  env?: Record<string, string>;
  /** Any target: the throw-away session needs one (it records nothing). */
  target: Target;
}

/** Returns the lines to print; `mitmdump` is `--mitmdump` when given. */
export async function caCommand(mitmdump: string | undefined, ctx: CaContext): Promise<number> {
  const env = ctx.env ?? Deno.env.toObject();
  const paths = caPaths(env);
  await prepareCaDir(paths);
  if (!(await caExists(paths))) {
    const path = await locateMitmdump(mitmdump, env);
    await checkMitmdumpVersion(path);
    const temp = await Deno.makeTempDir({ prefix: "probe-ca-" });
    try {
      const session = await CaptureSession.start({
        mitmdump: path,
        target: ctx.target,
        proxies: [{ name: "forward", port: 0, upstream: "", purpose: "creates the CA" }],
        output: `${temp}/traffic.jsonl`,
        keepSecrets: false,
        forward: { confdir: paths.dir, allowHosts: "^$", routes: {} },
      });
      await session.stop();
    } finally {
      await Deno.remove(temp, { recursive: true }).catch(() => {});
    }
    if (await caExists(paths)) ctx.print(`Created probe's CA in ${paths.dir}`);
  }
  await finishCa(paths, env);
  for (const line of trustInstructions(paths)) ctx.print(line);
  return 0;
}
