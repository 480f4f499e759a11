import type { Target } from "../lib/types.ts";
import { anthropic } from "./anthropic.ts";
import { claudeCode } from "./claude_code.ts";
import { codex } from "./codex.ts";
import { geminiCli } from "./gemini_cli.ts";
import { openai } from "./openai.ts";
import { opencode } from "./opencode.ts";
import { aider } from "./aider.ts";
import { cline } from "./cline.ts";
import { continueCli } from "./continue_cli.ts";
import { copilot } from "./copilot.ts";
import { crush } from "./crush.ts";
import { kilo } from "./kilo.ts";
import { pi } from "./pi.ts";
import { qwenCode } from "./qwen_code.ts";

/** Every built-in target, in the order `probe targets` lists them: agents, then SDK apps. */
export const builtinTargets: readonly Target[] = [
  codex,
  claudeCode,
  geminiCli,
  opencode,
  pi,
  qwenCode,
  aider,
  continueCli,
  cline,
  copilot,
  kilo,
  crush,
  openai,
  anthropic,
];
