/**
 * Forward (MITM) mode's mechanics on every mitmdump found: probe's CA made on first use in a
 * private folder and reused, only the target's hosts intercepted and recorded with their real
 * URLs, `--upstream` sending a real host to the fake upstream while the client still names the
 * real host, every other host tunnelled untouched (the client sees that server's own
 * certificate), the command getting proxy and CA variables and no base URL, and proxies-only
 * mode printing the variables to export. curl is the client: it reads HTTPS_PROXY, NO_PROXY
 * and CURL_CA_BUNDLE as agents' runtimes read theirs.
 */
import assert from "node:assert/strict";
import { makeTlsFiles, startFakeUpstream } from "./fake_upstream.ts";
import { exists, modeOf, ProbeProcess, readJsonl, runProbe } from "./tools/capture_helpers.ts";
import { findMitmdumps } from "./tools/paths.ts";

const MITMDUMPS = await findMitmdumps();
/** `probe capture claude-code` (forward mode) running `true`. */
const claudeTrue = (mitmdump: string, port: string, out: string) => [
  "capture",
  "claude-code",
  "--mitmdump",
  mitmdump,
  "--port",
  port,
  "-o",
  out,
  "--",
  "true",
];
const KEY = "sk-ant-api03-forwardTESTkey0123456789abcdefghijklmnop";

for (const m of MITMDUMPS) {
  Deno.test(`forward mode on mitmdump ${m.version}`, async (t) => {
    await using fake = await startFakeUpstream();
    const tls = await makeTlsFiles();
    await using other = await startFakeUpstream(tls);
    const home = await Deno.makeTempDir({ prefix: "probe-forward-" });
    const data = `${home}/data`;
    const env = { PROBE_DATA_DIR: data, SSL_CERT_FILE: "" };
    try {
      await t.step(
        "all-in-one: target host recorded with its real URL, others tunnelled",
        async () => {
          const out = `${home}/run1`;
          const script = [
            // The target's host, sent to the fake by --upstream; the client believes it is real.
            `curl -sS --fail https://api.anthropic.com/v1/messages -H 'x-api-key: ${KEY}' ` +
            `-H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' ` +
            `-d '{"model":"claude-fake","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}' && echo`,
            // Another host through the proxy: tunnelled, so its own certificate is what curl sees.
            `curl -sS --fail --noproxy '' --cacert ${tls.caFile} https://localhost:${other.port}/`,
            // Plain HTTP to another host through the proxy: passed on (no CONNECT to tunnel,
            // mitmproxy proxies it) but not recorded.
            `curl -sS --noproxy '' -x "$HTTP_PROXY" -o /dev/null -w 'PLAIN %{http_code}\\n' ` +
            `http://localhost:${fake.port}/plain-other-host`,
            'echo "ENV $HTTPS_PROXY|$NO_PROXY|$NODE_EXTRA_CA_CERTS|$SSL_CERT_FILE|' +
            '$REQUESTS_CA_BUNDLE|$CURL_CA_BUNDLE|${ANTHROPIC_BASE_URL-unset}"',
          ].join(" && ");
          const r = await runProbe([
            "capture",
            "claude-code",
            "--mode",
            "forward",
            "--mitmdump",
            m.path,
            "--port",
            "0",
            "--upstream",
            `api=${fake.url}`,
            "-o",
            out,
            "--",
            "sh",
            "-c",
            script,
          ], { env, timeoutMs: 60_000 });
          assert.equal(r.code, 0, r.stderr.join("\n"));
          const stdout = r.stdout.join("\n");
          assert.match(stdout, /"type":"message"|message_start|"content"/);
          assert.match(stdout, /^ok$/m, "the tunnelled server answered with its own certificate");
          const envLine = r.stdout.find((l) => l.startsWith("ENV "))!;
          const [proxy, noProxy, nodeCa, sslFile, requestsCa, curlCa, baseUrl] = envLine.slice(4)
            .split("|");
          assert.match(proxy, /^http:\/\/127\.0\.0\.1:\d+$/);
          assert.equal(noProxy, "localhost,127.0.0.1,::1");
          assert.equal(nodeCa, `${data}/ca/mitmproxy-ca-cert.pem`);
          for (const v of [sslFile, requestsCa, curlCa]) {
            assert.equal(v, `${data}/ca/ca-bundle.pem`);
          }
          assert.equal(baseUrl, "unset", "forward mode sets no base URL");

          // The fake got the request with the host the client named.
          const got = fake.requests.filter((q) => q.path === "/v1/messages");
          assert.equal(got.length, 1);
          assert.equal(got[0].headers["host"], "api.anthropic.com");
          assert.equal(got[0].headers["x-api-key"], KEY);
          // Only the target's exchange is recorded, with the real URL, the key redacted.
          const entries = await readJsonl(`${out}/traffic.jsonl`);
          assert.deepEqual(entries.map((e) => [e.request.method, e.request.url, e.proxy]), [
            ["POST", "https://api.anthropic.com/v1/messages", "forward"],
          ]);
          assert.equal(entries[0].response?.status_code, 200);
          assert.ok(!JSON.stringify(entries).includes(KEY), "the key is redacted");
          assert.equal(other.requests.length, 1, "the other host was reached, unrecorded");
          assert.ok(r.stdout.some((l) => /^PLAIN [1-4]\d\d$/.test(l)), r.stdout.join("\n"));
          assert.equal(
            fake.requests.filter((q) => q.path === "/plain-other-host").length,
            1,
            "the plain-HTTP request reached its host, unrecorded",
          );
        },
      );

      await t.step("the CA: private folder and key, one bundle with the system CAs", async () => {
        assert.equal((await modeOf(`${data}/ca`)) & 0o777, 0o700);
        assert.equal((await modeOf(`${data}/ca/mitmproxy-ca.pem`)) & 0o777, 0o600);
        const bundle = await Deno.readTextFile(`${data}/ca/ca-bundle.pem`);
        const cert = await Deno.readTextFile(`${data}/ca/mitmproxy-ca-cert.pem`);
        assert.ok(bundle.endsWith(cert));
        if (await exists("/etc/ssl/certs/ca-certificates.crt")) {
          assert.ok(bundle.length > cert.length * 10, "system CAs come first");
        }
      });

      await t.step("the CA is reused; probe ca says where it is and how to trust it", async () => {
        const before = await Deno.readTextFile(`${data}/ca/mitmproxy-ca.pem`);
        const r = await runProbe(["ca", "--mitmdump", m.path], { env });
        assert.equal(r.code, 0, r.stderr.join("\n"));
        const text = r.stdout.join("\n");
        assert.doesNotMatch(text, /Created/);
        assert.match(text, new RegExp(`CA certificate: ${data}/ca/mitmproxy-ca-cert\\.pem`));
        assert.match(text, /NODE_EXTRA_CA_CERTS=.*update-ca-certificates/s);
        assert.equal(await Deno.readTextFile(`${data}/ca/mitmproxy-ca.pem`), before);
      });

      await t.step("probe ca creates the CA on first use", async () => {
        const fresh = `${home}/fresh`;
        const r = await runProbe(["ca", "--mitmdump", m.path], {
          env: { ...env, PROBE_DATA_DIR: fresh },
        });
        assert.equal(r.code, 0, r.stderr.join("\n"));
        assert.match(r.stdout[0], new RegExp(`^Created probe's CA in ${fresh}/ca$`));
        assert.equal((await modeOf(`${fresh}/ca/mitmproxy-ca.pem`)) & 0o777, 0o600);
      });

      await t.step("proxies only: prints the variables to export, records their use", async () => {
        const out = `${home}/run2`;
        const p = new ProbeProcess([
          "capture",
          "codex",
          "--mode",
          "forward",
          "--mitmdump",
          m.path,
          "--port",
          "0",
          "--upstream",
          `chatgpt=${fake.url}`,
          "-o",
          out,
        ], { env });
        try {
          await p.line(/^Recording to: /);
          const exports = new Map(
            p.stdout.map((l) => /^ {2}export (\w+)=(.*)$/.exec(l)).filter((x) => x !== null)
              .map((x) => [x![1], x![2]]),
          );
          for (
            const name of ["HTTPS_PROXY", "NO_PROXY", "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE"]
          ) {
            assert.ok(exports.has(name), `${name} is printed`);
          }
          assert.ok(
            p.stdout.some((l) =>
              l === `  intercepts chatgpt.com -> ${fake.url.replace(/\/$/, "")}`
            ),
          );
          const curl = await new Deno.Command("curl", {
            args: [
              "-sS",
              "--fail",
              "https://chatgpt.com/backend-api/codex/models?client_version=1",
            ],
            env: {
              HTTPS_PROXY: exports.get("HTTPS_PROXY")!,
              CURL_CA_BUNDLE: exports.get("CURL_CA_BUNDLE")!,
            },
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.ok(curl.success, new TextDecoder().decode(curl.stderr));
        } finally {
          p.kill("SIGINT");
          await p.finish();
        }
        const entries = await readJsonl(`${out}/traffic.jsonl`);
        assert.deepEqual(entries.map((e) => e.request.url), [
          "https://chatgpt.com/backend-api/codex/models?client_version=1",
        ]);
      });

      await t.step("a taken port: the fix named is forward mode's own --port PORT", async () => {
        using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (busy.addr as Deno.NetAddr).port;
        const r = await runProbe(claudeTrue(m.path, String(port), `${home}/busy`), { env });
        assert.equal(r.code, 1);
        assert.deepEqual(r.stderr, [
          `probe: error: port ${port} (proxy forward) is already in use: pick another with ` +
          "--port PORT",
        ]);
        assert.equal(await exists(`${home}/busy`), false, "no empty capture folder left");
      });

      await t.step("a damaged CA key: one line naming the folder and the fix", async () => {
        const damaged = `${home}/damaged`;
        await Deno.mkdir(`${damaged}/ca`, { recursive: true });
        await Deno.writeTextFile(`${damaged}/ca/mitmproxy-ca.pem`, "not a key\n");
        const expected = `probe: error: mitmdump cannot read its CA in ${damaged}/ca ` +
          "(mitmproxy-ca.pem damaged, or mitmproxy-ca-cert.pem missing): move that folder " +
          "away and run again to make a new CA (then trust the new one: probe ca)";
        const denv = { ...env, PROBE_DATA_DIR: damaged };
        const r = await runProbe(claudeTrue(m.path, "0", `${home}/damaged-run`), { env: denv });
        assert.equal(r.code, 1);
        assert.deepEqual(r.stderr, [expected]);
        assert.equal(await exists(`${home}/damaged-run`), false, "no empty capture folder left");
        const ca = await runProbe(["ca", "--mitmdump", m.path], { env: denv });
        assert.equal(ca.code, 1);
        assert.deepEqual(ca.stderr, [expected]);
      });
    } finally {
      await Deno.remove(home, { recursive: true });
      await Deno.remove(tls.dir, { recursive: true });
    }
  });
}
