import type { Target } from "../lib/types.ts";
import { codex } from "./codex.ts";

/** Every built-in target, in the order `probe targets` lists them. */
export const builtinTargets: readonly Target[] = [codex];
