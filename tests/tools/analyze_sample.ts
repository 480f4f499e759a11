/**
 * `deno task analyze-sample`: runs `probe analyze` on the bundled sample, writing the report
 * into out/ (git-ignored), and prints its path.
 */
import { main } from "../../main.ts";

Deno.chdir(new URL("../../", import.meta.url));
await Deno.mkdir("out", { recursive: true });
Deno.exit(
  await main([
    "analyze",
    "--target",
    "codex",
    "--input",
    "testdata/sample_traffic.jsonl",
    "--output",
    "out/sample_report.md",
  ]),
);
