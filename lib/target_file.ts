/**
 * User-defined targets: a JSONC file (comments and trailing commas allowed) with the fields of
 * a built-in target, so an agent can be captured and analyzed without writing code.
 *
 * ```jsonc
 * {
 *   "name": "my-agent",
 *   "renderer": "some_renderer_id",
 *   "proxies": [{ "name": "llm", "port": 9090, "upstream": "https://api.example.com/" }],
 *   "env": { "MY_AGENT_BASE_URL": "{llm.url}/v1" },
 *   "sessionHeaders": ["x-my-agent-session"]
 * }
 * ```
 *
 * Every problem is one `InputError` line naming the file, the key path and what is expected,
 * e.g. `my-agent.jsonc: proxies[0].port must be an integer 1-65535`; syntax errors name the
 * line and column.
 */
import { type Node, type ParseError, parseTree } from "jsonc-parser";
import { lineAt, lineOf, syntaxError } from "./jsonc_error.ts";
import { fileReason, InputError } from "./errors.ts";
import { isRecord } from "./json.ts";
import type { ProxySpec, Target } from "./types.ts";
import { upstreamProblem, withoutPassword } from "./upstream_url.ts";

export { isTargetFile } from "./target_path.ts";

/**
 * Reads, parses and checks a target file. `knownRenderers` are the renderer ids `renderer`
 * may name (main.ts hands them in: lib/ does not import renderers/).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadTargetFile } from "./target_file.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonc" });
 * await Deno.writeTextFile(
 *   path,
 *   `{
 *     // comments and trailing commas are allowed
 *     "name": "my-agent",
 *     "renderer": "some_renderer_id",
 *     "proxies": [{ "name": "llm", "port": 9090, "upstream": "https://api.example.com/" }],
 *   }`,
 * );
 * const target = await loadTargetFile(path, ["some_renderer_id"]);
 * assert.equal(target.reportTitle, "my-agent Traffic Analysis Report");
 * await Deno.remove(path);
 * ```
 */
export async function loadTargetFile(
  path: string,
  knownRenderers: readonly string[],
): Promise<Target> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return parseTargetFile(text, path, knownRenderers);
}

/**
 * `loadTargetFile` for synchronous callers (argument parsing). Without `knownRenderers` the
 * renderer id is only checked for its form; the analysis checks it against the registry.
 */
export function loadTargetFileSync(path: string, knownRenderers?: readonly string[]): Target {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    throw unreadable(path, err);
  }
  return parseTargetFile(text, path, knownRenderers);
}

function unreadable(path: string, err: unknown): InputError {
  if (err instanceof Deno.errors.NotFound) {
    return new InputError(
      path,
      "no such target file; check the path (a target with '/' or ending in .jsonc is a file)",
    );
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return new InputError(path, "is a directory, not a target file");
  }
  return new InputError(path, `cannot read the target file: ${fileReason(err)}`);
}

const TARGET_KEYS = [
  "name",
  "description",
  "reportTitle",
  "renderer",
  "proxies",
  "env",
  "manualSteps",
  "redactedHeaders",
  "sessionHeaders",
  "recognizedBy",
  "commandArgs",
  "forwardHosts",
  "defaultMode",
];
const PROXY_KEYS = ["name", "port", "upstream", "purpose"];
const COMMAND_KEYS = ["program", "args"];
const RECOGNIZE_KEYS = ["header", "pattern"];
const PLACEHOLDER = /\{([A-Za-z0-9_-]+)\.(port|url)\}/g;

type Segment = string | number;

/** A key path as a reader writes it: `proxies[0].port`, `env["MY-VAR"]`. */
function keyPath(segments: readonly Segment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** The node's value as plain JSON (what `JSON.parse` would give). */
function valueOf(node: Node): unknown {
  switch (node.type) {
    case "object": {
      const out: Record<string, unknown> = {};
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (k && v) out[k.value as string] = valueOf(v);
      }
      return out;
    }
    case "array":
      return (node.children ?? []).map(valueOf);
    default:
      return node.value;
  }
}

/**
 * Parses and checks the text of a target file; `path` is only used in messages.
 *
 * @example
 * ```ts
 * const t = parseTargetFile('{"name":"x","renderer":"generic","proxies":[' +
 *   '{"name":"api","port":9000,"upstream":"https://example.com/"}]}', "x.jsonc", ["generic"]);
 * ```
 */
export function parseTargetFile(
  text: string,
  path: string,
  knownRenderers?: readonly string[],
): Target {
  // A byte order mark (Notepad and some editors write one) is invisible: not a syntax error.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  if (text.trim() === "") {
    throw new InputError(path, "is empty: expected one JSON object with the target's fields");
  }
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    throw new InputError(path, syntaxError(text, errors[0]));
  }
  if (!root || root.type !== "object") {
    throw new InputError(path, "must hold one JSON object with the target's fields");
  }
  const fail: Fail = (segments, what, { node, named = true } = {}) => {
    const line = node ? lineOf(text, node.offset) : lineAt(root, text, segments);
    throw new InputError(path, named ? `${keyPath(segments)} ${what}` : what, line);
  };
  checkDuplicates(root, [], fail);
  return checkTarget(valueOf(root) as Record<string, unknown>, path, knownRenderers, fail);
}

/**
 * Throws one line naming the file, the line of `node` (else of the value at `segments`) and,
 * unless `named` is false (the message names it), the key path.
 */
type Fail = (segments: Segment[], what: string, at?: { node?: Node; named?: boolean }) => never;

/** Rejects a key given twice in one object (JSON would silently keep the last). */
function checkDuplicates(node: Node, at: Segment[], fail: Fail): void {
  if (node.type === "object") {
    const seen = new Set<string>();
    for (const prop of node.children ?? []) {
      const [k, v] = prop.children ?? [];
      if (!k) continue;
      const key = k.value as string;
      if (seen.has(key)) fail([...at, key], "is given twice", { node: k });
      seen.add(key);
      if (v) checkDuplicates(v, [...at, key], fail);
    }
  } else if (node.type === "array") {
    (node.children ?? []).forEach((child, i) => checkDuplicates(child, [...at, i], fail));
  }
}

function checkKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  at: Segment[],
  fail: Fail,
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key) || (at.length === 0 && key === "$schema")) continue;
    const where = at.length ? `${keyPath(at)}: ` : "";
    fail(
      [...at, key],
      `${where}unknown key ${JSON.stringify(key)} (known: ${known.join(", ")})`,
      { named: false },
    );
  }
}

function checkTarget(
  raw: Record<string, unknown>,
  path: string,
  knownRenderers: readonly string[] | undefined,
  fail: Fail,
): Target {
  checkKeys(raw, TARGET_KEYS, [], fail);
  const str = (v: unknown, at: Segment[], what = "must be a string"): string =>
    typeof v === "string" ? v : fail(at, what);
  const strings = (v: unknown, at: Segment[]): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v)) return fail(at, "must be an array of strings");
    return v.map((s, i) => str(s, [...at, i]));
  };

  const name = str(raw.name, ["name"], "must be a string (the target's name)");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    fail(
      ["name"],
      "must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit",
    );
  }

  const renderer = str(raw.renderer, ["renderer"], "must be a renderer id (a string)");
  if (knownRenderers ? !knownRenderers.includes(renderer) : !/^[a-z0-9_]+$/.test(renderer)) {
    fail(
      ["renderer"],
      knownRenderers
        ? `must be one of: ${knownRenderers.join(", ")}`
        : "must be a renderer id (lowercase letters, digits and _)",
    );
  }

  if (!Array.isArray(raw.proxies) || raw.proxies.length === 0) {
    fail(["proxies"], "must be a non-empty array of {name, port, upstream, purpose}");
  }
  const proxies: ProxySpec[] = (raw.proxies as unknown[]).map((p, i) => {
    const at: Segment[] = ["proxies", i];
    if (!isRecord(p)) return fail(at, "must be an object {name, port, upstream, purpose}");
    checkKeys(p, PROXY_KEYS, at, fail);
    const pname = str(p.name, [...at, "name"]);
    if (!/^[A-Za-z0-9_-]+$/.test(pname)) {
      fail([...at, "name"], "must be letters, digits, '-' or '_' (used in --port NAME=PORT)");
    }
    if (typeof p.port !== "number" || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      fail([...at, "port"], "must be an integer 1-65535");
    }
    const upstream = str(p.upstream, [...at, "upstream"], "must be a URL string");
    const problem = upstreamProblem(upstream);
    if (problem !== undefined) {
      fail([...at, "upstream"], `${JSON.stringify(withoutPassword(upstream))}: ${problem}`);
    }
    const purpose = p.purpose === undefined ? `proxy ${pname}` : str(p.purpose, [...at, "purpose"]);
    return { name: pname, port: p.port as number, upstream, purpose };
  });
  proxies.forEach((p, i) => {
    const j = proxies.findIndex((q) => q.name === p.name);
    if (j < i) fail(["proxies", i, "name"], `must be unique ("${p.name}" is also proxies[${j}])`);
    const k = proxies.findIndex((q) => q.port === p.port);
    if (k < i) fail(["proxies", i, "port"], `must be unique (${p.port} is also proxies[${k}])`);
  });
  const proxyNames = proxies.map((p) => p.name);
  const placeholders = (value: string, at: Segment[]) => {
    for (const m of value.matchAll(PLACEHOLDER)) {
      if (!proxyNames.includes(m[1])) {
        fail(
          at,
          `uses ${m[0]}, but no proxy is named "${m[1]}" (proxies: ${proxyNames.join(", ")})`,
        );
      }
    }
  };

  const env: Record<string, string> = {};
  if (raw.env !== undefined) {
    if (!isRecord(raw.env)) fail(["env"], "must be an object of NAME: value strings");
    for (const [k, v] of Object.entries(raw.env as Record<string, unknown>)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        fail(["env", k], "is not a variable name (letters, digits and '_')");
      }
      env[k] = str(v, ["env", k]);
      placeholders(env[k], ["env", k]);
    }
  }

  const manualSteps = strings(raw.manualSteps, ["manualSteps"]);
  manualSteps.forEach((s, i) => placeholders(s, ["manualSteps", i]));
  const headerNames = (key: string) => {
    const names = strings(raw[key], [key]);
    names.forEach((h, i) => {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h)) fail([key, i], "must be an HTTP header name");
    });
    return names;
  };
  const redactedHeaders = headerNames("redactedHeaders");
  const sessionHeaders = headerNames("sessionHeaders");

  const target: Target = {
    name,
    description: raw.description === undefined
      ? `User-defined target (${path})`
      : str(raw.description, ["description"]),
    reportTitle: raw.reportTitle === undefined
      ? `${name} Traffic Analysis Report`
      : str(raw.reportTitle, ["reportTitle"]),
    renderer,
    proxies,
    env,
    manualSteps,
    redactedHeaders,
  };
  if (sessionHeaders.length > 0) target.sessionHeaders = sessionHeaders;
  if (raw.recognizedBy !== undefined) {
    if (!Array.isArray(raw.recognizedBy)) {
      fail(["recognizedBy"], "must be an array of {header, pattern}");
    }
    target.recognizedBy = (raw.recognizedBy as unknown[]).map((r, i) => {
      if (!isRecord(r)) return fail(["recognizedBy", i], "must be an object {header, pattern}");
      checkKeys(r, RECOGNIZE_KEYS, ["recognizedBy", i], fail);
      const header = str(r.header, ["recognizedBy", i, "header"]);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
        fail(["recognizedBy", i, "header"], "must be an HTTP header name");
      }
      const pattern = str(r.pattern, ["recognizedBy", i, "pattern"]);
      try {
        new RegExp(pattern, "i");
      } catch (err) {
        fail(
          ["recognizedBy", i, "pattern"],
          `is not a regular expression (${(err as Error).message})`,
        );
      }
      return { header, pattern };
    });
  }
  if (raw.commandArgs !== undefined) {
    const c = raw.commandArgs;
    if (!isRecord(c)) return fail(["commandArgs"], "must be an object {program, args}");
    checkKeys(c, COMMAND_KEYS, ["commandArgs"], fail);
    const program = str(c.program, ["commandArgs", "program"]);
    if (program === "" || /[\\/]/.test(program)) {
      fail(["commandArgs", "program"], "must be a program name without a path (e.g. my-agent)");
    }
    const args = strings(c.args, ["commandArgs", "args"]);
    args.forEach((a, i) => placeholders(a, ["commandArgs", "args", i]));
    target.commandArgs = { program, args };
  }
  if (raw.forwardHosts !== undefined) {
    const hosts = strings(raw.forwardHosts, ["forwardHosts"]);
    hosts.forEach((h, i) => {
      if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(h)) {
        fail(["forwardHosts", i], "must be a host name (e.g. api.example.com)");
      }
    });
    target.forwardHosts = hosts;
  }
  if (raw.defaultMode !== undefined) {
    const mode = str(raw.defaultMode, ["defaultMode"]);
    if (mode !== "forward" && mode !== "reverse") {
      fail(["defaultMode"], 'must be "forward" or "reverse"');
    }
    target.defaultMode = mode as "forward" | "reverse";
  }
  return target;
}
