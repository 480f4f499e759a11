/**
 * The real browser the HTML report tests drive: Debian's Chromium, through playwright-core
 * (which downloads no browser of its own). Each launch gets a fresh profile and flags that
 * keep Chromium from opening connections of its own, since this network refuses them.
 * When Chromium or playwright-core is missing, `launchChromium` throws one line saying how
 * to install it: the browser tests fail, they never skip.
 */
import type { BrowserContext } from "playwright-core";

/** Where Debian's package installs Chromium; $PROBE_CHROMIUM overrides it. */
export const CHROMIUM = "/usr/bin/chromium";

/** How to get Chromium (the line CI runs). */
export const CHROMIUM_INSTALL =
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium";

/** Headless, no sandbox (root in a container), and no background connections. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Time limit of each browser operation (launch, navigation, waiting for an element). */
export const BROWSER_TIMEOUT_MS = 30_000;

/** A running Chromium: one context (its fresh profile) and a `close` that removes it all. */
export interface RunningBrowser {
  context: BrowserContext;
  /** Closes the browser and deletes its profile; safe to call more than once. */
  close(): Promise<void>;
}

/** The Chromium executable to drive; throws a one-line instruction when there is none. */
export async function findChromium(): Promise<string> {
  const path = Deno.env.get("PROBE_CHROMIUM") || CHROMIUM;
  try {
    if ((await Deno.stat(path)).isFile) return path;
  } catch {
    // reported below
  }
  throw new Error(`Chromium not found at ${path}: install it with \`${CHROMIUM_INSTALL}\``);
}

/** Launches headless Chromium with a fresh user-data-dir. */
export async function launchChromium(): Promise<RunningBrowser> {
  const executablePath = await findChromium();
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch (err) {
    throw new Error(
      `playwright-core cannot be loaded (${(err as Error).message.split("\n")[0]}): ` +
        'deno.json needs "playwright-core": "npm:playwright-core@1.65.1" in "imports"',
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "probe-chromium-" });
  let context: BrowserContext;
  try {
    context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: BROWSER_TIMEOUT_MS,
      // Playwright must not rewrite what the report's policy allows.
      bypassCSP: false,
      serviceWorkers: "block",
    });
  } catch (err) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw new Error(`cannot launch ${executablePath}: ${(err as Error).message.split("\n")[0]}`);
  }
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(BROWSER_TIMEOUT_MS);
  let closed = false;
  return {
    context,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        await Deno.remove(profile, { recursive: true }).catch(() => {});
      }
    },
  };
}
