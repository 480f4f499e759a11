/**
 * `probe view [PATH ...] [--port P] [--no-open]`: finds the captures, starts the viewer,
 * prints its URL on a line of its own, opens a browser, and serves until Ctrl+C.
 */
import { parseCommandArgs } from "../args.ts";
import { ProbeError, UsageError } from "../errors.ts";
import type { PriceTable } from "../prices.ts";
import type { Renderer, Target } from "../types.ts";
import { startViewer, type ViewServer } from "./server.ts";

export const VIEW_HELP = `Usage: probe view [PATH ...] [--port P] [--no-open]

Shows captures in the browser: sessions, conversations and their turns (what each request
added, the answer, tokens, cost, time), context composition, cache hits and misses with the
reason, subagent threads, search, raw exchanges and cURL commands (redacted). PATH is a capture
(.jsonl) or a folder of captures (default: ./captures). The page is served on 127.0.0.1 under
a random token; the URL is printed on a line of its own.

Options:
      --port P       port to listen on (default: a free one)
      --no-open      do not open a browser
  -t, --target NAME  the agent (a name or a target file): its extra redacted headers and
                     fallback renderer; without it the capture's headers name the agent
  -h, --help         show this help
`;

export const VIEW_OPTIONS = {
  port: { type: "string" },
  "no-open": { type: "boolean" },
  target: { type: "string", short: "t" },
  help: { type: "boolean", short: "h" },
} as const;

/** The capture files a PATH names: itself, or the .jsonl files in a folder (two levels). */
export async function capturePaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".jsonl")) names.push(`${dir}/${e.name}`);
      else if (e.isDirectory && depth < 2) await walk(`${dir}/${e.name}`, depth + 1);
    }
    out.push(...names.sort());
  };
  for (const p of paths) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(p);
    } catch {
      throw new ProbeError(`${p}: no such capture file or folder`);
    }
    if (info.isDirectory) {
      const before = out.length;
      await walk(p.replace(/\/+$/, ""), 0);
      if (out.length === before) throw new ProbeError(`${p}: no .jsonl captures in this folder`);
    } else out.push(p);
  }
  return out;
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`view: --port must be an integer 1-65535, not "${value}"`);
  }
  return port;
}

/** Opens the URL in the desktop's browser; a failure only means the user opens it. */
export async function openBrowser(url: string): Promise<boolean> {
  const cmd = Deno.build.os === "darwin"
    ? "open"
    : Deno.build.os === "windows"
    ? "explorer"
    : "xdg-open";
  try {
    const child = new Deno.Command(cmd, {
      args: [url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    })
      .spawn();
    return (await child.status).success;
  } catch {
    return false;
  }
}

export interface ViewDeps {
  findTarget: (name: string) => Promise<Target>;
  targets: readonly Target[];
  renderers: ReadonlyMap<string, Renderer>;
  /** The price table for the sessions' cost (the built-in one). */
  prices: PriceTable;
  print: (line: string) => void;
  warn: (line: string) => void;
}

export async function viewCommand(args: string[], deps: ViewDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, VIEW_OPTIONS, "view");
  if (values.help) {
    deps.print(VIEW_HELP);
    return 0;
  }
  const port = parsePort(values.port);
  const paths = await capturePaths(positionals.length > 0 ? positionals : ["./captures"]);
  const target = values.target ? await deps.findTarget(values.target) : undefined;
  await using server: ViewServer = startViewer({
    paths,
    ...(port ? { port } : {}),
    ...(target ? { target } : {}),
    targets: deps.targets,
    renderers: deps.renderers,
    prices: deps.prices,
    follow: false,
  });
  deps.print(
    `probe view: ${paths.length} capture${
      paths.length === 1 ? "" : "s"
    }; open this URL (Ctrl+C stops):`,
  );
  deps.print(server.url);
  if (!values["no-open"] && !(await openBrowser(server.url))) {
    deps.warn("probe view: could not open a browser; open the URL above");
  }
  await new Promise<void>((resolve) => {
    const stop = () => {
      Deno.removeSignalListener("SIGINT", stop);
      resolve();
    };
    Deno.addSignalListener("SIGINT", stop);
  });
  return 0;
}
