import type { Target } from "../lib/types.ts";
import { anthropic } from "./anthropic.ts";
import { claudeCode } from "./claude_code.ts";
import { codex } from "./codex.ts";
import { geminiCli } from "./gemini_cli.ts";
import { openai } from "./openai.ts";
import { opencode } from "./opencode.ts";

/** Every built-in target, in the order `probe targets` lists them: agents, then SDK apps. */
export const builtinTargets: readonly Target[] = [
  codex,
  claudeCode,
  geminiCli,
  opencode,
  openai,
  anthropic,
];
