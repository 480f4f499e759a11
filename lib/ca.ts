/**
 * probe's own certificate authority for forward (MITM) capture: where it lives, keeping its
 * folder private, the bundle of the system's CAs plus probe's that clients are pointed at, and
 * how a person trusts it. mitmdump creates the CA itself on first start in this folder (its
 * `confdir`); probe only makes the folder, tightens the files and reads the certificate.
 */
import { fileReason, ProbeError } from "./errors.ts";

/** The CA's files in its folder (mitmproxy's names: its confdir is this folder). */
export interface CaPaths {
  /** The folder (0700): mitmproxy's confdir. */
  dir: string;
  /** Key and certificate (0600): never leaves this folder. */
  key: string;
  /** The certificate only (PEM): what clients trust. */
  cert: string;
  /** The system's CAs followed by probe's (PEM), for clients that take one bundle. */
  bundle: string;
}

/**
 * probe's data folder: $PROBE_DATA_DIR, else $XDG_DATA_HOME/probe, else
 * ~/.local/share/probe.
 */
export function dataDir(env: Record<string, string | undefined>): string {
  if (env.PROBE_DATA_DIR) return env.PROBE_DATA_DIR;
  if (env.XDG_DATA_HOME) return `${env.XDG_DATA_HOME}/probe`;
  if (env.HOME) return `${env.HOME}/.local/share/probe`;
  throw new ProbeError(
    "cannot find probe's data folder for its CA: set HOME, XDG_DATA_HOME or PROBE_DATA_DIR",
  );
}

export function caPaths(env: Record<string, string | undefined>): CaPaths {
  const dir = `${dataDir(env)}/ca`;
  return {
    dir,
    key: `${dir}/mitmproxy-ca.pem`,
    cert: `${dir}/mitmproxy-ca-cert.pem`,
    bundle: `${dir}/ca-bundle.pem`,
  };
}

/** Creates the CA folder (0700) if needed; an existing one is made 0700 again. */
export async function prepareCaDir(paths: CaPaths): Promise<void> {
  try {
    await Deno.mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await Deno.chmod(paths.dir, 0o700);
  } catch (err) {
    throw new ProbeError(
      `cannot create probe's CA folder ${paths.dir} (${fileReason(err)}): ` +
        "make it writable or point PROBE_DATA_DIR at a folder of your own",
    );
  }
}

/** Whether mitmdump has created the CA in the folder already. */
export async function caExists(paths: CaPaths): Promise<boolean> {
  try {
    return (await Deno.stat(paths.cert)).isFile && (await Deno.stat(paths.key)).isFile;
  } catch {
    return false;
  }
}

/**
 * The error when mitmdump cannot read the CA in its confdir (a damaged key: mitmproxy 10+
 * exits, 8.x runs on without a CA). Moving the folder away makes mitmdump create a new one.
 */
export function unreadableCa(confdir: string, forward: boolean): ProbeError {
  return new ProbeError(
    `mitmdump cannot read its CA in ${confdir} (mitmproxy-ca.pem damaged, or ` +
      "mitmproxy-ca-cert.pem missing): move that folder away and run again to make a new CA" +
      (forward ? " (then trust the new one: probe ca)" : ""),
  );
}

/**
 * After mitmdump started in forward mode: the CA must be there (else `unreadableCa`), its
 * private files 0600, the bundle fresh. A failure is one error naming the file.
 */
export async function finishCa(
  paths: CaPaths,
  env: Record<string, string | undefined>,
): Promise<void> {
  if (!(await caExists(paths))) throw unreadableCa(paths.dir, true);
  try {
    await tightenCaFiles(paths);
    await writeBundle(paths, env);
  } catch (err) {
    if (err instanceof ProbeError) throw err;
    throw new ProbeError(
      `cannot finish probe's CA in ${paths.dir} (${fileReason(err)}): make that folder ` +
        "writable, or point PROBE_DATA_DIR at a folder of your own",
    );
  }
}

/**
 * After mitmdump made or reused the CA: every file with a private key becomes 0600 (mitmproxy
 * writes them with the process's umask on some versions).
 */
export async function tightenCaFiles(paths: CaPaths): Promise<void> {
  for await (const e of Deno.readDir(paths.dir)) {
    if (!e.isFile) continue;
    if (e.name === "mitmproxy-ca-cert.pem" || e.name === "ca-bundle.pem") continue;
    if (!/\.(pem|p12|cer|crt)$/.test(e.name)) continue;
    // Cert-only files are public; the rest (the key, the .p12 with its key) stay private.
    const keepOpen = /-cert\.|\.cer$|\.crt$/.test(e.name) && !/-ca\.p12$/.test(e.name);
    if (!keepOpen) await Deno.chmod(`${paths.dir}/${e.name}`, 0o600);
  }
}

/** Where the system's CA bundle usually is (Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine/macOS). */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/ssl/cert.pem",
];

/**
 * Writes the bundle: the CAs the user's clients trust today (their SSL_CERT_FILE when set,
 * else the system's) followed by probe's, so clients that take one bundle trust both. Returns
 * the file the system CAs came from, or undefined when none was found (the bundle then holds
 * probe's CA only).
 */
export async function writeBundle(
  paths: CaPaths,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const cert = await Deno.readTextFile(paths.cert);
  const candidates = [env.SSL_CERT_FILE, ...SYSTEM_BUNDLES].filter(
    (p): p is string => !!p && p !== paths.bundle,
  );
  let from: string | undefined;
  let system = "";
  for (const candidate of candidates) {
    try {
      system = await Deno.readTextFile(candidate);
      from = candidate;
      break;
    } catch {
      // not on this system
    }
  }
  const text = (system && !system.endsWith("\n") ? system + "\n" : system) + cert;
  const tmp = `${paths.bundle}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o644 });
  await Deno.rename(tmp, paths.bundle);
  return from;
}

/** What `probe ca` prints: where the CA is and how to trust it system-wide or per runtime. */
export function trustInstructions(paths: CaPaths): string[] {
  return [
    `probe's CA certificate: ${paths.cert}`,
    `its private key (0600, never share it): ${paths.key}`,
    `bundle of the system CAs plus probe's: ${paths.bundle}`,
    "",
    "`probe capture TARGET --mode forward -- COMMAND` sets these for the command itself; to",
    "trust the CA elsewhere:",
    "",
    "Per runtime (one shell or one program):",
    `  Node.js:          export NODE_EXTRA_CA_CERTS=${paths.cert}`,
    `  Python (requests): export REQUESTS_CA_BUNDLE=${paths.bundle}`,
    `  OpenSSL, Python ssl, Rust (native roots), Go: export SSL_CERT_FILE=${paths.bundle}`,
    `  curl:             export CURL_CA_BUNDLE=${paths.bundle}`,
    `  Deno:             export DENO_CERT=${paths.cert}`,
    "",
    "System-wide (every program; undo by removing the file and rerunning the command):",
    `  Debian/Ubuntu:    sudo cp ${paths.cert} /usr/local/share/ca-certificates/probe-ca.crt` +
    " && sudo update-ca-certificates",
    `  Fedora/RHEL:      sudo trust anchor ${paths.cert}`,
    `  macOS:            sudo security add-trusted-cert -d -r trustRoot -k ` +
    `/Library/Keychains/System.keychain ${paths.cert}`,
    "",
    "Anyone with the key can read the traffic of whoever trusts this CA: keep it private,",
    "and trust it system-wide only on a machine of your own.",
  ];
}
