import config from "../deno.json" with { type: "json" };

/** probe's version, from deno.json (the one place it is kept); embedded by `deno compile`. */
export const VERSION: string = config.version;
