"""Unit tests of lib/addon.py with mitmproxy's own test helpers (taddons, tflow), no proxy.

Run by tests/addon_test.ts with the Python of every installed mitmdump (8.1.1, 11.x, 12.x),
which also writes lib/redact.ts's policy to a file named by $PROBE_TEST_REDACTION (the addon
has no secret list of its own):
    PYTHONPATH=lib PROBE_TEST_REDACTION=FILE python3 -m unittest discover -s tests/addon
Each test builds its taddons context inside a running event loop, as mitmproxy's own tests do.
"""

import asyncio
import base64
import errno
import json
import os
import sys
import tempfile
import unittest
from unittest import mock

from mitmproxy import exceptions, websocket
from mitmproxy.test import taddons, tflow

import addon


POLICY = os.environ["PROBE_TEST_REDACTION"]


def run(coro):
    return asyncio.run(coro)


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    return data


class TempDir:
    def __enter__(self):
        self.td = tempfile.TemporaryDirectory()
        return self.td.name

    def __exit__(self, *exc):
        self.td.cleanup()
        return False


class RecorderTest(unittest.TestCase):
    def test_records_one_json_line_per_exchange_with_secrets_fingerprinted(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_proxy="api", probe_redaction=POLICY)
                    f = tflow.tflow(resp=True)
                    f.request.headers["authorization"] = "Bearer sk-secret-token-value"
                    f.request.headers["content-type"] = "application/json"
                    f.request.content = b'{"model":"m","api_key":"k-123"}'
                    await tctx.cycle(rec, f)
                    rec.done()
                data = read_lines(out)
                self.assertTrue(data.endswith(b"\n"))
                lines = data.splitlines()
                self.assertEqual(len(lines), 1)
                entry = json.loads(lines[0])
                self.assertEqual(entry["proxy"], "api")
                self.assertEqual(entry["request"]["method"], "GET")
                auth = entry["request"]["headers"]["authorization"]
                self.assertEqual(auth, "Bearer " + fp("sk-secret-token-value"))
                self.assertEqual(entry["request"]["body"]["api_key"], fp("k-123"))
                self.assertEqual(entry["request"]["body"]["model"], "m")
                self.assertEqual(entry["response"]["status_code"], 200)
                self.assertNotIn(b"sk-secret-token-value", data)
                self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)

        run(go())

    def test_keep_secrets_stores_them_raw(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_keep_secrets=True)
                    f = tflow.tflow(resp=True)
                    f.request.headers["x-api-key"] = "raw-key-1"
                    await tctx.cycle(rec, f)
                entry = json.loads(read_lines(out))
                self.assertEqual(entry["request"]["headers"]["x-api-key"], "raw-key-1")

        run(go())

    def test_streamed_response_is_teed_and_decoded(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_redaction=POLICY)
                    f = tflow.tflow(resp=True)
                    f.response.headers["content-type"] = "text/event-stream"
                    rec.requestheaders(f)
                    rec.responseheaders(f)
                    self.assertTrue(callable(f.response.stream))
                    for chunk in (b"data: one\n\n", b"data: two\n\n", b""):
                        self.assertEqual(f.response.stream(chunk), chunk)
                    rec.response(f)
                entry = json.loads(read_lines(out))
                self.assertEqual(entry["response"]["body"], "data: one\n\ndata: two\n\n")

        run(go())

    def test_done_writes_exchanges_in_flight_as_incomplete(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_redaction=POLICY)
                    f = tflow.tflow()
                    rec.requestheaders(f)
                    self.assertIsInstance(rec.inflight[f.id], addon.Exchange)
                    rec.done()
                entry = json.loads(read_lines(out))
                self.assertTrue(entry["incomplete"])
                self.assertIsNone(entry["response"])
                self.assertEqual(rec.inflight, {})

        run(go())

    def test_only_hosts_that_allow_hosts_names_are_recorded(self):
        # Forward mode: a plain-HTTP request to another host is proxied (mitmproxy applies
        # allow_hosts to CONNECT and TLS only) but must not be recorded.
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(
                        rec,
                        probe_output=out,
                        probe_redaction=POLICY,
                        allow_hosts=[r"^(?:api\.example\.com)(?::\d+)?$"],
                    )
                    for scheme, host, port in (
                        ("http", "other.example.org", 80),
                        ("https", "api.example.com", 443),
                    ):
                        f = tflow.tflow(resp=True)
                        f.request.scheme, f.request.host, f.request.port = scheme, host, port
                        await tctx.cycle(rec, f)
                    rec.done()
                urls = [json.loads(line)["request"]["url"] for line in read_lines(out).splitlines()]
                self.assertEqual(urls, ["https://api.example.com/path"])

        run(go())

    def test_websocket_messages_are_recorded_at_the_end(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_redaction=POLICY)
                    f = tflow.twebsocketflow()
                    rec.requestheaders(f)
                    rec.response(f)
                    self.assertEqual(rec.inflight[f.id].ws, [])
                    for i in range(len(f.websocket.messages)):
                        saved = f.websocket.messages
                        f.websocket.messages = saved[: i + 1]
                        rec.websocket_message(f)
                        f.websocket.messages = saved
                    rec.websocket_end(f)
                entry = json.loads(read_lines(out))
                self.assertEqual(len(entry["websocket"]), len(f.websocket.messages))
                self.assertIn(entry["websocket"][0]["from"], ("client", "server"))

        run(go())

    def test_a_disk_full_stops_visibly_naming_the_file(self):
        """/dev/full answers every write with ENOSPC, as a full disk does."""

        async def go():
            rec = addon.Recorder()
            with taddons.context(rec) as tctx:
                tctx.configure(rec, probe_output="/dev/full", probe_redaction=POLICY)
                f = tflow.tflow(resp=True)
                other = tflow.tflow()
                rec.requestheaders(other)
                err = mock.Mock()
                with mock.patch.object(sys, "stderr", err):
                    with self.assertRaises(SystemExit) as stop:
                        await tctx.cycle(rec, f)
                self.assertEqual(stop.exception.code, 1)
                said = "".join(c.args[0] for c in err.write.call_args_list)
                self.assertIn("probe: cannot write /dev/full: No space left on device", said)
                self.assertIn("killed", other.error.msg.lower())
                # Later traffic is not passed on unrecorded.
                later = tflow.tflow()
                rec.requestheaders(later)
                self.assertNotIn(later.id, rec.inflight)

        run(go())

    def test_a_write_failing_part_way_leaves_only_complete_lines(self):
        async def go():
            with TempDir() as d:
                out = os.path.join(d, "t.jsonl")
                rec = addon.Recorder()
                with taddons.context(rec) as tctx:
                    tctx.configure(rec, probe_output=out, probe_redaction=POLICY)
                    await tctx.cycle(rec, tflow.tflow(resp=True))
                    real_write = os.write

                    def half_then_enospc(fd, data):
                        if len(data) > 10:
                            return real_write(fd, bytes(data[: len(data) // 2]))
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

                    with mock.patch.object(addon.os, "write", half_then_enospc), \
                            mock.patch.object(sys, "stderr", mock.Mock()):
                        with self.assertRaises(SystemExit):
                            await tctx.cycle(rec, tflow.tflow(resp=True))
                data = read_lines(out)
                self.assertTrue(data.endswith(b"\n"))
                self.assertEqual(len(data.splitlines()), 1)
                json.loads(data)

        run(go())


def record(flow, keep_secrets=False, cycle=None):
    """The entry the recorder writes for one flow cycled through it (by `cycle(rec, flow)`,
    else request and response)."""

    async def go():
        with TempDir() as d:
            out = os.path.join(d, "t.jsonl")
            rec = addon.Recorder()
            with taddons.context(rec) as tctx:
                tctx.configure(
                    rec, probe_output=out, probe_redaction=POLICY, probe_keep_secrets=keep_secrets
                )
                if cycle is not None:
                    cycle(rec, flow)
                else:
                    # Not streamed (no responseheaders): the response body is the flow's own.
                    rec.requestheaders(flow)
                    rec.response(flow)
            with open(out, "rb") as f:
                return f.read()

    return run(go())


def record_websocket(content: bytes, kind: str):
    """The entry the recorder writes for a WebSocket flow whose first message is `content`
    (`kind`: "TEXT" or "BINARY"), the only one it sees."""
    f = tflow.twebsocketflow()
    f.websocket.messages[0].content = content
    f.websocket.messages[0].type = getattr(f.websocket.messages[-1].type.__class__, kind)

    def cycle(rec, flow):
        rec.requestheaders(flow)
        rec.response(flow)
        saved = flow.websocket.messages
        flow.websocket.messages = saved[:1]
        rec.websocket_message(flow)
        flow.websocket.messages = saved
        rec.websocket_end(flow)

    return record(f, cycle=cycle)


def record_socket(messages):
    """The entry the recorder writes for a WebSocket flow whose text messages are
    `messages`: (from_client, text) pairs in order."""
    f = tflow.twebsocketflow()
    text = f.websocket.messages[1].type
    f.websocket.messages = [
        websocket.WebSocketMessage(text, client, content.encode()) for client, content in messages
    ]

    def cycle(rec, flow):
        rec.requestheaders(flow)
        rec.response(flow)
        saved = flow.websocket.messages
        for i in range(len(saved)):
            flow.websocket.messages = saved[: i + 1]
            rec.websocket_message(flow)
        flow.websocket.messages = saved
        rec.websocket_end(flow)

    return record(f, cycle=cycle)


def sse(events):
    """An SSE body of `data:` events, each JSON."""
    return "".join("event: e\ndata: %s\n\n" % json.dumps(e) for e in events).encode()


def data_events(body):
    """The JSON of each `data:` line of an SSE body; every one must parse."""
    return [json.loads(line[len("data: "):]) for line in body.split("\n") if line.startswith("data: ")]


# Fingerprints are keyed by the policy probe hands over (lib/redact.ts fingerprintKey).
fp = addon.Policy.load(POLICY).fingerprint
SHAPES = [
    "sk-proj-PLANTEDproj0123456789abcdef",
    "sk-ant-api03-PLANTEDant0123456789abcd",
    "sk-PLANTEDplain0123456789abcdefgh",
    "ghp_PLANTEDghp0123456789abcdefghijklmnop",
    "gho_PLANTEDgho0123456789abcdefghijklmnop",
    "github_pat_PLANTED_pat_0123456789abcdefgh",
    "AKIAPLANTED0AWS12345",
    "AIzaPLANTED-google-0123456789abcdefghijkl",
    "xoxb-PLANTED-slack-0123456789",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJQTEFOVEVEIn0.PLANTEDsig0123456789",
    "gsk_PLANTEDgroq0123456789abcdefghij",
    "xai-PLANTEDxai0123456789abcdefghijk",
    "hf_PLANTEDhuggingface0123456789abcdefgh",
    "glpat-PLANTED0123456789abcd",
    "sk_live_PLANTED0123456789abcdefgh",
    "npm_PLANTEDnpm0123456789abcdefghijklmnopqrstu",
]


class RedactionTest(unittest.TestCase):
    """The policy handed over by probe, in every place a capture holds secrets."""

    def test_secret_names_in_snake_camel_and_kebab_spelling(self):
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        body = {
            "password": "pw-1", "refreshToken": "rt-1", "id_token": "it-1",
            "client-secret": "cs-1", "AccessToken": "at-1", "nested": [{"apiKey": "ak-1"}],
            "code": "not-oauth", "max_tokens": 5,
        }
        f.request.content = json.dumps(body).encode()
        data = record(f)
        entry = json.loads(data)
        got = entry["request"]["body"]
        self.assertEqual(got["password"], fp("pw-1"))
        self.assertEqual(got["refreshToken"], fp("rt-1"))
        self.assertEqual(got["id_token"], fp("it-1"))
        self.assertEqual(got["client-secret"], fp("cs-1"))
        self.assertEqual(got["AccessToken"], fp("at-1"))
        self.assertEqual(got["nested"][0]["apiKey"], fp("ak-1"))
        self.assertEqual(got["code"], "not-oauth")  # an error code, not an OAuth call
        self.assertEqual(got["max_tokens"], 5)

    def test_names_ending_with_a_secret_name(self):
        # An MCP server's OAuth token (OpenAI `authorization`, Anthropic `authorization_token`),
        # headers and environment variables handed to a tool: lib/redact.ts masks them too.
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.headers["Ocp-Apim-Subscription-Key"] = "h-1"
        f.request.path = "/v1/x?goog_api_key=q-1&alt=sse"
        body = {
            "tools": [{"type": "mcp", "authorization": "oauth-1"}],
            "mcp_servers": [{"authorization_token": "oauth-2"}],
            "env": {"OPENAI_API_KEY": "ek-1", "AWS_SECRET_ACCESS_KEY": "ek-2"},
            "headers": {"X-Api-Key": "hk-1"},
            "max_tokens": 5,
            "prompt_cache_key": "conversation-1",
        }
        f.request.content = json.dumps(body).encode()
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = b'data: {"type":"x","session":{"x_access_token":"e-1"}}\n\n'
        data = record(f)
        for secret in [b"oauth-1", b"oauth-2", b"ek-1", b"ek-2", b"hk-1", b"h-1", b"q-1", b"e-1"]:
            self.assertNotIn(secret, data, secret)
        entry = json.loads(data)
        self.assertEqual(entry["request"]["body"]["env"]["OPENAI_API_KEY"], fp("ek-1"))
        self.assertEqual(entry["request"]["body"]["max_tokens"], 5)
        self.assertEqual(entry["request"]["body"]["prompt_cache_key"], "conversation-1")

    def test_oauth_code_and_form_bodies(self):
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/x-www-form-urlencoded"
        f.request.content = b"grant_type=authorization_code&code=c-1&clientSecret=s-1&client_id=app"
        got = json.loads(record(f))["request"]["body"]
        self.assertEqual(
            got,
            "grant_type=authorization_code&code=%s&clientSecret=%s&client_id=app"
            % (fp("c-1"), fp("s-1")),
        )

    def test_query_names_in_any_spelling_and_headers_by_name(self):
        f = tflow.tflow(resp=True)
        f.request.path = ("/v1/x?alt=sse&accessToken=q-1&api-key=q-2&key=q-3"
                          "&X-Amz-Signature=q-4&zipcode=1&pageToken=p")
        f.request.headers["X-Refresh-Token"] = "h-1"
        f.request.headers["x-goog-api-key"] = "h-2"
        f.request.headers["x-custom"] = "with " + SHAPES[0]
        entry = json.loads(record(f))
        url = entry["request"]["url"]
        self.assertTrue(
            url.endswith("?alt=sse&accessToken=%s&api-key=%s&key=%s&X-Amz-Signature=%s"
                         "&zipcode=1&pageToken=p" % (fp("q-1"), fp("q-2"), fp("q-3"), fp("q-4"))),
            url,
        )
        headers = entry["request"]["headers"]
        self.assertEqual(headers["X-Refresh-Token"], fp("h-1"))
        self.assertEqual(headers["x-goog-api-key"], fp("h-2"))
        self.assertEqual(headers["x-custom"], "with " + fp(SHAPES[0]))

    def test_key_shapes_anywhere_in_text(self):
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        prompt = "keys: " + " and\n".join(SHAPES) + " task-abcdefghijklmnopqrstuvwxyz"
        f.request.content = json.dumps({"input": prompt}).encode()
        f.response.headers["content-type"] = "text/plain"
        f.response.content = ("answer " + SHAPES[3]).encode()
        data = record(f)
        for shape in SHAPES:
            self.assertNotIn(shape.encode(), data, shape)
        entry = json.loads(data)
        self.assertIn(fp(SHAPES[6]), entry["request"]["body"]["input"])
        self.assertIn("task-abcdefghijklmnopqrstuvwxyz", entry["request"]["body"]["input"])
        self.assertEqual(entry["response"]["body"], "answer " + fp(SHAPES[3]))

    def test_openai_and_anthropic_keys_right_after_a_word(self):
        # Their own prefixes are told from a word's end (`task-…`): a report joining a stream's
        # deltas reads `token` | `sk-proj-…` as one word, and masks it as the capture does.
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        text = "my token%s, x%s; task-proj-management-dashboard-v" % (SHAPES[0], SHAPES[1])
        f.request.content = json.dumps({"input": text}).encode()
        got = json.loads(record(f))["request"]["body"]["input"]
        self.assertEqual(got, "my token%s, x%s; task-proj-management-dashboard-v"
                         % (fp(SHAPES[0]), fp(SHAPES[1])))

    def test_inside_sse_events(self):
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = (
            'event: token\ndata: {"type":"x","access_token":"e-1","delta":"%s"}\n\n'
            "data: [DONE]\n\n" % SHAPES[1]
        ).encode()
        body = json.loads(record(f))["response"]["body"]
        self.assertNotIn("e-1", body)
        self.assertNotIn(SHAPES[1], body)
        event = json.loads(body.split("\n")[1][len("data: "):])
        self.assertEqual(event["access_token"], fp("e-1"))
        self.assertEqual(event["delta"], fp(SHAPES[1]))
        self.assertTrue(body.endswith("data: [DONE]\n\n"))

    def test_in_bodies_that_are_not_utf8(self):
        # One stray byte and the body is kept as base64: its secrets must be masked first,
        # or the capture (and a HAR made of it) carries them, only encoded.
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.content = (
            b'{"input":"caf\xe9 \xff ' + SHAPES[0].encode()
            + b'","api_key":"b-1","refresh-token":"b-2","max_tokens":5}'
        )
        f.response.headers["content-type"] = "application/x-www-form-urlencoded"
        f.response.content = b"access_token=b-3&note=\xfe\xfd&state=ok"
        entry = json.loads(record(f))
        self.assertEqual(entry["request"]["body_encoding"], "base64")
        req = base64.b64decode(entry["request"]["body"])
        self.assertEqual(
            req,
            b'{"input":"caf\xe9 \xff ' + fp(SHAPES[0]).encode() + b'","api_key":"'
            + fp("b-1").encode() + b'","refresh-token":"' + fp("b-2").encode()
            + b'","max_tokens":5}',
        )
        self.assertEqual(entry["request"]["body_size"], len(f.request.content))
        resp = base64.b64decode(entry["response"]["body"])
        self.assertEqual(resp, b"access_token=" + fp("b-3").encode() + b"&note=\xfe\xfd&state=ok")

    def test_in_streams_that_are_not_utf8(self):
        # One stray byte sends a stream the base64 way: its events are still read joined, and
        # every other byte stays as it was.
        key = SHAPES[0]
        head = b": \xff\n\n" + 'data: {"delta": "caf\u00e9 \xfe"}\n\n'.encode("latin-1")
        ndjson = lambda lines: b"".join(json.dumps(x).encode() + b"\n" for x in lines)
        tail = b'{"x": "\xff"}\n'
        for ct, body, want in (
            ("text/event-stream",
             head + sse([{"delta": "k: s"}, {"delta": key[1:]},
                         {"args": '{"pass'}, {"args": 'word": "pw-8"}'}]),
             head + sse([{"delta": "k: " + fp(key)}, {"delta": ""},
                         {"args": '{"pass'}, {"args": 'word": "%s"}' % fp("pw-8")}])),
            ("application/x-ndjson",
             ndjson([{"delta": "k: s"}, {"delta": key[1:]}]) + tail,
             ndjson([{"delta": "k: " + fp(key)}, {"delta": ""}]) + tail),
        ):
            f = tflow.tflow(resp=True)
            f.response.headers["content-type"] = ct
            f.response.content = body
            entry = json.loads(record(f))["response"]
            self.assertEqual(entry["body_encoding"], "base64")
            self.assertEqual(base64.b64decode(entry["body"]), want, ct)

    def test_in_binary_websocket_messages(self):
        content = b"\x00\x01 " + SHAPES[2].encode() + b" \xff"
        msg = json.loads(record_websocket(content, "BINARY"))["websocket"][0]
        self.assertEqual(
            base64.b64decode(msg["base64"]), b"\x00\x01 " + fp(SHAPES[2]).encode() + b" \xff"
        )

    def test_inside_websocket_messages(self):
        data = record_websocket(
            json.dumps(
                {"type": "session.update", "clientSecret": "w-1", "text": SHAPES[4]}
            ).encode(),
            "TEXT",
        )
        self.assertNotIn(b"w-1", data)
        self.assertNotIn(SHAPES[4].encode(), data)
        msg = json.loads(json.loads(data)["websocket"][0]["text"])
        self.assertEqual(msg["clientSecret"], fp("w-1"))

    def test_secret_fields_written_as_json_inside_strings(self):
        # A tool call's arguments, a tool's output and a config pasted into a prompt are JSON
        # text inside the body: reports, HAR and the viewer mask their secret fields, so the
        # capture must too.
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        args = json.dumps({"url": "https://x", "headers": {"X-Api-Key": "j-1"}})
        body = {
            "input": [
                {"type": "function_call", "name": "fetch", "arguments": args},
                {"type": "function_call_output", "output": '{"ok": true, "refresh_token" : "j-2"}'},
                {"role": "user", "content": ['use {"client_secret": "j-3", "user": "me"}']},
                {"role": "user", "content": 'already {"password": "%s"}' % fp("x")},
            ],
            "max_tokens": 5,
        }
        f.request.content = json.dumps(body).encode()
        f.response.headers["content-type"] = "text/event-stream"
        done = {"type": "response.function_call_arguments.done", "arguments": '{"apiKey":"j-4"}'}
        f.response.content = ("data: %s\n\n" % json.dumps(done)).encode()
        data = record(f)
        for secret in [b"j-1", b"j-2", b"j-3", b"j-4"]:
            self.assertNotIn(secret, data, secret)
        entry = json.loads(data)
        items = entry["request"]["body"]["input"]
        self.assertEqual(
            json.loads(items[0]["arguments"]),
            {"url": "https://x", "headers": {"X-Api-Key": fp("j-1")}},
        )
        self.assertEqual(items[1]["output"], '{"ok": true, "refresh_token" : "%s"}' % fp("j-2"))
        self.assertEqual(items[2]["content"], ['use {"client_secret": "%s", "user": "me"}' % fp("j-3")])
        self.assertEqual(items[3]["content"], 'already {"password": "%s"}' % fp("x"))
        self.assertEqual(entry["request"]["body"]["max_tokens"], 5)
        event = json.loads(entry["response"]["body"].split("\n")[0][len("data: "):])
        self.assertEqual(event["arguments"], '{"apiKey":"%s"}' % fp("j-4"))
        # In a WebSocket message too (Codex's response.create carries the same input).
        ws = record_websocket(json.dumps({"type": "response.create", "input": body["input"]}).encode(), "TEXT")
        for secret in [b"j-1", b"j-2", b"j-3"]:
            self.assertNotIn(secret, ws, secret)
        # JSON text without a secret field stays the body's own bytes.
        g = tflow.tflow(resp=True)
        g.request.headers["content-type"] = "application/json"
        plain = b'{"input":[{"arguments":"{\\"path\\": \\"a.ts\\", \\"tokens\\": 5}"}]}'
        g.request.content = plain
        self.assertIn(plain, record(g))

    def test_a_key_split_across_stream_events(self):
        # Reports read a streamed answer joined, so they mask a key its deltas split; the
        # capture must not keep the pieces raw. Split inside the prefix, inside the body, and
        # with the same key sent whole in another event.
        key, google = SHAPES[1], SHAPES[7]
        anthropic = ["Here is ", "the key: s", key[1:15], key[15:28], key[28:], " and ", key, "."]
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse(
            [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
             for t in anthropic]
        )
        body = json.loads(record(f))["response"]["body"]
        text = "".join(e["delta"]["text"] for e in data_events(body))
        self.assertEqual(text, "Here is the key: %s and %s." % (fp(key), fp(key)))
        for piece in anthropic[2:5]:
            self.assertNotIn(piece, body)
        # Chat Completions: the pieces are `content` deltas, a Google key split after "AIz".
        chat = ["my key ", "AIz", google[3:20], google[20:], " ok"]
        g = tflow.tflow(resp=True)
        g.response.headers["content-type"] = "text/event-stream; charset=utf-8"
        g.response.content = sse(
            [{"choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}]} for t in chat]
        )
        body = json.loads(record(g))["response"]["body"]
        text = "".join(e["choices"][0]["delta"]["content"] for e in data_events(body))
        self.assertEqual(text, "my key %s ok" % fp(google))
        self.assertNotIn(google[3:20], body)

    def test_a_key_split_across_chunks_of_a_json_array_stream(self):
        key = SHAPES[9]
        chunks = [{"candidates": [{"content": {"parts": [{"text": t}]}}]}
                  for t in ("jwt ", key[:12], key[12:], " end")]
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "application/json"
        f.response.content = json.dumps(chunks).encode()
        body = json.loads(record(f))["response"]["body"]
        text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in body)
        self.assertEqual(text, "jwt %s end" % fp(key))

    def test_a_secret_field_streamed_in_pieces(self):
        # A tool call's arguments arrive as pieces of JSON text; reports mask the secret field
        # of the joined arguments, so its value must not stay raw in a piece.
        pieces = ['{"url": "https://x", "pass', 'word": "hun', "ter2", '", "user": "me"}']
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse(
            [{"type": "content_block_delta", "index": 1,
              "delta": {"type": "input_json_delta", "partial_json": p}} for p in pieces]
        )
        body = json.loads(record(f))["response"]["body"]
        self.assertNotIn("hun", body)
        self.assertNotIn("ter2", body)
        args = "".join(e["delta"]["partial_json"] for e in data_events(body))
        self.assertEqual(json.loads(args), {"url": "https://x", "password": fp("hunter2"), "user": "me"})

    def test_streams_without_secrets_stay_byte_for_byte(self):
        text = ["the task-", "runner ", "uses mask-", "ing; s", "k-short", " and AIz", "a."]
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([{"type": "delta", "item_id": "msg_1", "delta": t} for t in text])
        self.assertEqual(json.loads(record(f))["response"]["body"], f.response.content.decode())

    def test_a_key_split_across_websocket_messages(self):
        key = SHAPES[0]
        deltas = ["use ", key[:9], key[9:], " now"]
        messages = [(True, json.dumps({"type": "response.create", "input": "hi"}))] + [
            (False, json.dumps({"type": "response.output_text.delta", "delta": d})) for d in deltas
        ]
        data = record_socket(messages)
        entry = json.loads(data)
        server = [json.loads(m["text"]) for m in entry["websocket"] if m["from"] == "server"]
        self.assertEqual("".join(m["delta"] for m in server), "use %s now" % fp(key))
        self.assertNotIn(key[9:].encode(), data)
        self.assertEqual(json.loads(entry["websocket"][0]["text"])["input"], "hi")

    def test_json_written_two_levels_deep(self):
        # A tool call that writes a config file: its arguments are JSON text whose `content`
        # is JSON text again; the file's secret fields must not stay raw.
        inner = json.dumps({"db_password": "pw-deep", "apiKey": 'k"deep', "user": "me"})
        args = json.dumps({"path": "config.json", "content": inner})
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.content = json.dumps({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "write", "arguments": args}}
        ]}]}).encode()
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([{"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": args}}]}}]}])
        data = record(f)
        self.assertNotIn(b"pw-deep", data)
        self.assertNotIn(b"deep", data.replace(b"pw-deep", b""))
        entry = json.loads(data)
        written = json.loads(json.loads(
            entry["request"]["body"]["messages"][0]["tool_calls"][0]["function"]["arguments"]
        )["content"])
        # A value is fingerprinted as its JSON writes it (escapes kept), as one level up.
        self.assertEqual(written, {"db_password": fp("pw-deep"), "apiKey": fp('k\\"deep'), "user": "me"})

    def test_a_files_json_in_streamed_tool_arguments(self):
        pieces = ['{"content": "{\\"pass', 'word\\": \\"h-11\\"}", "password', '": "h-12"}']
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([{"type": "response.function_call_arguments.delta",
                                   "output_index": 0, "delta": d} for d in pieces])
        body = json.loads(record(f))["response"]["body"]
        self.assertNotIn("h-11", body)
        self.assertNotIn("h-12", body)
        args = json.loads("".join(e["delta"] for e in data_events(body)))
        self.assertEqual(args, {"content": '{"password": "%s"}' % fp("h-11"), "password": fp("h-12")})

    def test_pieces_of_parallel_streams_are_read_apart(self):
        # Two tool calls (or two choices) whose deltas interleave: each call's arguments are
        # read on their own, as reports read them.
        key = SHAPES[0]
        deltas = [(0, '{"pass'), (1, '{"q": "s'), (0, 'word": "hunter-9"}'), (1, key[1:] + '"}')]
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([{"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "function": {"arguments": a}}]}}]} for i, a in deltas])
        body = json.loads(record(f))["response"]["body"]
        self.assertNotIn("hunter-9", body)
        self.assertNotIn(key[1:], body)
        calls = {0: "", 1: ""}
        for e in data_events(body):
            call = e["choices"][0]["delta"]["tool_calls"][0]
            calls[call["index"]] += call["function"]["arguments"]
        self.assertEqual(json.loads(calls[0]), {"password": fp("hunter-9")})
        self.assertEqual(json.loads(calls[1]), {"q": fp(key)})

    def test_a_secret_names_list_or_object_of_values_is_masked(self):
        schema = {"type": "object", "properties": {"password": {"type": "string"}}}
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.content = json.dumps({
            "password": ["pw-list"], "client_secret": {"value": "cs-obj"}, "token": None,
            "api_key": [], "note": ["kept"], "tools": [{"name": "login", "input_schema": schema}],
        }).encode()
        got = json.loads(record(f))["request"]["body"]
        self.assertEqual(got["password"], fp(["pw-list"]))
        self.assertEqual(got["client_secret"], fp({"value": "cs-obj"}))
        self.assertEqual((got["token"], got["api_key"], got["note"]), (None, [], ["kept"]))
        self.assertEqual(got["tools"][0]["input_schema"], schema)

    def test_a_secret_names_object_is_masked_unless_it_is_a_json_schema(self):
        # A tool's parameters: every key a JSON Schema keyword, `type` a schema type (Gemini
        # writes them upper-case).
        params = {"type": "object", "properties": {
            "password": {"type": "string", "description": "The user's password"},
            "api_key": {"anyOf": [{"type": "string"}, {"type": "null"}], "x-order": 1},
            "client_secret": {"description": "any value"},
            "credentials": {"type": "OBJECT", "properties": {"user": {"type": "STRING"}}},
        }}
        body = {
            "authorization": {"type": "bearer", "token": "tok-1"},
            "password": {"type": "string", "value": "pw-2"},
            "client_secret": {"primary": {"key": "cs-3"}},
            "api_key": [{"key": "ak-4"}],
            "credentials": {"primary": {"key": "cr-5"}},
            "awsCredentials": [["cr-6"]],
            "fetch": {"credentials": "include", "secret": {"enabled": True}},
            "tools": [{"name": "login", "parameters": params}],
        }
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.content = json.dumps(body).encode()
        # And the same as an SSE event's data.
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([body])
        entry = json.loads(record(f))
        for got in (entry["request"]["body"], data_events(entry["response"]["body"])[0]):
            for name in ("authorization", "password", "client_secret", "api_key", "credentials",
                         "awsCredentials"):
                self.assertEqual(got[name], fp(body[name]), name)
            self.assertEqual(got["fetch"], body["fetch"])
            self.assertEqual(got["tools"][0]["parameters"], params)

    def test_a_secret_names_object_in_json_written_in_a_string(self):
        # A tool call's arguments are JSON text: their objects are masked as a body's are.
        args = {
            "authorization": {"type": "bearer", "token": "tok-e"},
            "credentials": {"primary": {"key": "cr-e"}},
            "fetch": {"credentials": "include"},
            "schema": {"password": {"type": "string", "description": "kept"}},
            "note": 'a "quoted} { word',
        }
        want = dict(args, authorization=fp(args["authorization"]),
                    credentials=fp(args["credentials"]))
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        # And a level down: a file's JSON that the arguments write.
        f.request.content = json.dumps({"arguments": json.dumps(args), "write": json.dumps(
            {"content": json.dumps(args)})}).encode()
        # And streamed in pieces, cut inside the object.
        text = json.dumps(args)
        cut = text.index("tok-e") - 3
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = sse([{"index": 0, "arguments": text[:cut]},
                                  {"index": 0, "arguments": text[cut:]}])
        entry = json.loads(record(f))
        body = entry["request"]["body"]
        self.assertEqual(json.loads(body["arguments"]), want)
        self.assertEqual(json.loads(json.loads(body["write"])["content"]), want)
        streamed = "".join(e["arguments"] for e in data_events(entry["response"]["body"]))
        self.assertEqual(json.loads(streamed), want)

    def test_an_events_json_split_across_data_lines(self):
        # The SSE spec joins an event's `data:` lines with "\n": one JSON text.
        key = SHAPES[0]
        first = 'data: {"choices":[{"index":0,"delta":{"content":"key s"}}]}'
        for nl in ("\n", "\r\n"):
            body = nl.join([
                first, "",
                'data: {"choices":[{"index":0,"delta":{"content":',
                'data: "%s"}}]}' % key[1:], "",
                'event: login', 'data: {"user": "me",', 'id: 7', 'data: "password":',
                'data:  "pw-lines"}', "",
                'data: {"note": "plain",', 'data: "n": 1}', "", "",
            ])
            f = tflow.tflow(resp=True)
            f.response.headers["content-type"] = "text/event-stream"
            f.response.content = body.encode()
            got = json.loads(record(f))["response"]["body"]
            self.assertNotIn(key[1:], got, repr(nl))
            self.assertNotIn("pw-lines", got, repr(nl))
            self.assertIn(fp(key), got, repr(nl))
            self.assertIn(
                nl.join(['event: login', 'data: {"user":"me","password":"%s"}' % fp("pw-lines"),
                         'id: 7', ""]), got, repr(nl))
            # Events without secrets keep their bytes, the lines of their data too.
            self.assertIn(nl.join(['data: {"note": "plain",', 'data: "n": 1}']), got)
            self.assertTrue(got.startswith(first.replace("key s", "key " + fp(key))), got)

    def test_keys_and_names_written_with_unicode_escapes(self):
        # No JSON encoder escapes ASCII letters: a hostile server hiding a key or a name.
        key = SHAPES[0]
        esc = "\\u0073" + key[1:]  # \u0073k-proj-…, as the JSON text holds it
        body = "".join("data: %s\n\n" % e for e in [
            '{"index":0,"delta":"k1: %s"}' % esc,
            '{"index":1,"delta":"\\u0073"}', '{"index":1,"delta":"%s"}' % key[1:].replace("p", "\\u0070"),
            '{"pass\\u0077ord": "pw-esc1"}',
            # JSON written in a string: the escape is escaped once more.
            json.dumps({"delta": '{"pass\\u0077ord": "pw-esc2"}'}),
        ])
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = body.encode()
        # A request body with tool arguments written that way, and a WebSocket key in two.
        f.request.headers["content-type"] = "application/json"
        f.request.content = json.dumps(
            {"arguments": '{"api\\u004bey": "ak-esc", "n": "\\u0041"}'}).encode()
        entry = json.loads(record(f))
        events = data_events(entry["response"]["body"])
        decoded = json.dumps(events)
        for secret in (key[1:], "pw-esc1", "pw-esc2"):
            self.assertNotIn(secret, decoded)
        self.assertEqual(events[0]["delta"], "k1: " + fp(key))
        self.assertEqual(events[3], {"password": fp("pw-esc1")})
        self.assertEqual(json.loads(events[4]["delta"]), {"password": fp("pw-esc2")})
        self.assertEqual(json.loads(entry["request"]["body"]["arguments"]),
                         {"apiKey": fp("ak-esc"), "n": "A"})
        socket = json.loads(record_socket([(True, '{"d": "\\u0073"}'), (True, '{"d": "%s"}' % key[1:])]))
        self.assertNotIn(key[1:], json.dumps([json.loads(m["text"]) for m in socket["websocket"]]))
        # Escapes that encoders do write (non-ASCII, Go's \u003c) and no secret: byte for byte.
        plain = 'data: {"t": "caf\\u00e9 \\u003cb\\u003e \\u0041 \\\\u0041"}\n\n'
        f = tflow.tflow(resp=True)
        f.response.headers["content-type"] = "text/event-stream"
        f.response.content = plain.encode()
        self.assertEqual(json.loads(record(f))["response"]["body"], plain)

    def test_streams_under_other_content_types(self):
        key = SHAPES[2]
        # NDJSON (a local model server's stream) and SSE served as text/plain.
        ndjson = "".join(json.dumps({"message": {"content": t}}) + "\n" for t in ("k: s", key[1:], "."))
        for ct, body in (("application/x-ndjson", ndjson.encode()),
                         ("text/plain", sse([{"delta": t} for t in ("k: s", key[1:], ".")]))):
            f = tflow.tflow(resp=True)
            f.response.headers["content-type"] = ct
            f.response.content = body
            got = json.loads(record(f))["response"]["body"]
            self.assertNotIn(key[1:], got, ct)
            self.assertIn(fp(key), got, ct)

    def test_fingerprints_are_keyed_by_the_policy(self):
        # Without a key of the capture's own, a reader could test guesses of a weak password
        # against its sha256 prefix.
        with open(POLICY, encoding="utf-8") as f:
            data = json.load(f)
        self.assertEqual(len(data["fingerprintKey"]), 64)  # 32 random bytes, as hex
        other = addon.Policy(dict(data, fingerprintKey="00" * 32))
        self.assertNotEqual(fp("hunter2"), other.fingerprint("hunter2"))
        self.assertNotEqual(fp("hunter2"), addon.fingerprint("hunter2"))  # the bare sha256
        self.assertEqual(fp("hunter2"), addon.Policy(data).fingerprint("hunter2"))
        self.assertRegex(fp("hunter2"), r"^\[REDACTED:[0-9a-f]{8}\]$")

    def test_keep_secrets_keeps_everything_raw(self):
        f = tflow.tflow(resp=True)
        f.request.headers["content-type"] = "application/json"
        f.request.content = json.dumps({"password": "pw-2", "input": SHAPES[0]}).encode()
        data = record(f, keep_secrets=True)
        self.assertIn(b"pw-2", data)
        self.assertIn(SHAPES[0].encode(), data)

    def test_no_policy_no_recording(self):
        async def go():
            rec = addon.Recorder()
            with taddons.context(rec) as tctx:
                with self.assertRaises(exceptions.OptionsError):
                    tctx.configure(rec, probe_output="/dev/null")

        run(go())


class UpstreamRoutingTest(unittest.TestCase):
    def test_routes_through_the_proxy_with_basic_credentials(self):
        async def go():
            up = addon.UpstreamRouting()
            with taddons.context(up) as tctx:
                tctx.configure(up, probe_upstream_proxy="http://us%40r:p%3Ass@corp.example:3128")
                f = tflow.tflow()
                up.requestheaders(f)
                self.assertEqual(tuple(f.server_conn.via)[1], ("corp.example", 3128))
                up.http_connect_upstream(f)
                cred = base64.b64encode(b"us@r:p:ss").decode()
                self.assertEqual(f.request.headers["Proxy-Authorization"], "Basic " + cred)

        run(go())

    def test_no_proxy_leaves_the_route_alone(self):
        async def go():
            up = addon.UpstreamRouting()
            with taddons.context(up) as tctx:
                tctx.configure(up, probe_upstream_proxy="")
                f = tflow.tflow()
                before = f.server_conn.via
                up.requestheaders(f)
                up.http_connect_upstream(f)
                self.assertEqual(f.server_conn.via, before)
                self.assertNotIn("Proxy-Authorization", f.request.headers)

        run(go())

    def test_a_bad_proxy_url_is_an_option_error(self):
        async def go():
            up = addon.UpstreamRouting()
            with taddons.context(up) as tctx:
                with self.assertRaises(exceptions.OptionsError):
                    tctx.configure(up, probe_upstream_proxy="socks5://corp:1080")

        run(go())


class ParentWatchTest(unittest.TestCase):
    def test_an_orphan_shuts_down_and_removes_probes_folder(self):
        async def go():
            with TempDir() as d:
                folder = os.path.join(d, "probe-capture-x")
                os.mkdir(folder)
                ready = os.path.join(folder, "0.ready")
                open(ready, "w").close()
                watch = addon.ParentWatch()
                with taddons.context(addon.Ready(), watch) as tctx:
                    tctx.configure(watch, probe_ready=ready, probe_watch_parent=True)
                    with mock.patch.object(tctx.master, "shutdown") as shutdown:
                        watch.parent_pid = -1  # as if probe had died and we were re-parented
                        self.assertTrue(watch._orphan_filter(None))
                        self.assertTrue(watch.orphaned)
                        shutdown.assert_called_once()
                    watch.done()
                self.assertFalse(os.path.exists(folder))

        run(go())

    def test_a_living_parent_keeps_the_proxy_up(self):
        async def go():
            watch = addon.ParentWatch()
            with taddons.context(addon.Ready(), watch) as tctx:
                with mock.patch.object(tctx.master, "shutdown") as shutdown:
                    self.assertTrue(watch._orphan_filter(None))
                    shutdown.assert_not_called()
                self.assertFalse(watch.orphaned)

        run(go())


class ReadyTest(unittest.TestCase):
    def test_announces_once_listening_with_pid_and_version(self):
        async def go():
            with TempDir() as d:
                path = os.path.join(d, "0.ready")
                ready = addon.Ready()
                with taddons.context(ready) as tctx:
                    tctx.configure(ready, probe_ready=path)
                    with mock.patch.object(addon, "_listening", return_value=True):
                        await ready._announce()
                with open(path) as f:
                    info = json.load(f)
                self.assertEqual(info["pid"], os.getpid())
                self.assertEqual(info["version"], addon._mitm_version())
                self.assertNotEqual(info["version"], "unknown")

        run(go())


class AddonListTest(unittest.TestCase):
    def test_the_script_exposes_the_four_addons(self):
        names = [type(a).__name__ for a in addon.addons]
        self.assertEqual(names, ["Ready", "ParentWatch", "UpstreamRouting", "Recorder"])


if __name__ == "__main__":
    unittest.main()
