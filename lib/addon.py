"""probe capture addon for mitmdump (reverse mode), standard library only.

Loaded by `probe capture` with `mitmdump -s addon.py`; one mitmdump process per proxy of the
target. Runs unchanged on mitmproxy 8.1 through 12.x. Each exchange becomes one JSON line:

  {"timestamp", "id", "proxy", "request": {...}, "response": {...} | null,
   "timing": {"start", "first_byte", "end"}, "error"?: str, "incomplete"?: true}

Response bodies stream through to the client chunk by chunk (a tee keeps a copy); request bodies
are not streamed. Each line is written with one os.write under flock(LOCK_EX) on an
O_APPEND file created 0600, so several processes can share the file. Secrets are replaced
by "[REDACTED:<first 8 hex of sha256>]" unless probe_keep_secrets is set.

Four small addons, composed the way mitmproxy's own default_addons() is: Ready (the ready
file probe waits for), ParentWatch (shut down when probe goes), UpstreamRouting (a corporate
proxy in reverse mode) and Recorder (the JSON lines). tests/addon/ tests each with
mitmproxy.test.taddons and tflow on every installed mitmproxy.
"""

import asyncio
import base64
import bisect
import dataclasses
import fcntl
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
import typing
import uuid
import zlib
from urllib.parse import unquote, urlsplit

from mitmproxy import ctx, exceptions

try:  # mitmproxy's own decoder knows br and zstd (its dependencies)
    from mitmproxy.net import encoding as _mitm_encoding
except Exception:  # pragma: no cover
    _mitm_encoding = None

try:
    from mitmproxy.net import server_spec as _server_spec
except Exception:  # pragma: no cover
    _server_spec = None

log = logging.getLogger("probe")

_QUERY_RE = re.compile(r"(^|[&;])([^=&;#]+)=([^&;#]*)")


def fingerprint(value, key: bytes = b"") -> str:
    """`[REDACTED:` and 8 hex digits of the value's HMAC-SHA256 under `key` (the capture's own
    secret key, so that one holding the capture cannot test guesses against it), `]`."""
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
    else:
        raw = json.dumps(value, sort_keys=True).encode("utf-8")
    digest = hmac.new(key, raw, hashlib.sha256).hexdigest() if key else hashlib.sha256(raw).hexdigest()
    return "[REDACTED:" + digest[:8] + "]"


class Policy:
    """The redaction policy probe hands over at start (lib/redact.ts's lists as a JSON file):
    this addon has no list of its own, so the capture masks exactly what reports mask.

    Names are compared after lower-casing and dropping "_" and "-" (snake, camel and kebab
    spellings are one name). Key shapes are masked anywhere in text.
    """

    def __init__(self, data: dict):
        self.headers = frozenset(h.lower() for h in data["headers"])
        self.scheme_headers = frozenset(data["schemeHeaders"])
        self.secret_names = frozenset(data["secretNames"])
        # A name ending with a secret name is one (SERVICE_API_KEY, X-Api-Key): lib/redact.ts's
        # isSecretName.
        self.secret_ends = tuple(sorted(self.secret_names))
        # Names whose list or object value is a credential whole (`credentials`), and the
        # JSON Schema keywords and types that keep a tool's parameter schema (_secret_shaped).
        self.object_ends = tuple(sorted(data["secretObjectNames"]))
        self.schema_keywords = frozenset(data["schemaKeywords"])
        self.schema_types = frozenset(data["schemaTypes"])
        self.query_names = frozenset(data["querySecretNames"])
        self.query_ends = tuple(data["querySecretEndings"])
        self.oauth_markers = frozenset(data["oauthMarkers"])
        # Keys that make a parsed body worth walking ("code" counts in OAuth calls).
        self.shapes = re.compile(data["keyShapes"])
        self.prefixes = tuple(data["keyShapePrefixes"])
        # The prefixes by one character of theirs, then by their first one: a body is searched
        # for a prefix only once it holds both characters (a one-character find is a memchr;
        # even a two-character search of 200 KB cost more than the JSON parse).
        self.prefix_groups: typing.Dict[str, typing.Dict[str, typing.List[str]]] = {}
        for prefix in self.prefixes:
            heads = self.prefix_groups.setdefault(_anchor(prefix), {})
            heads.setdefault(prefix[0], []).append(prefix)
        # A JSON string field, for text that is not parsed as JSON (a body that is not
        # UTF-8): a value whose key is a secret name is masked where it stands.
        self.json_field = re.compile('("((?:[^"\\\\]|\\\\.)*)"\\s*:\\s*")((?:[^"\\\\]|\\\\.)*)"')
        # A JSON key written in a string (JSON text inside JSON), as the string reads and as
        # its JSON text holds it (\"apiKey\":): scanning for keys and looking each up costs
        # a tenth of searching for the spelled-out names.
        self.json_key = re.compile('"([^"\\\\\\n]{1,128})"\\s*:')
        self.escaped_json_key = re.compile('\\\\"([^"\\\\]{1,128})\\\\"\\s*:')
        # A key with space before its colon (`"apiKey" :`, also inside a string), which the
        # split at `":` does not see.
        self.spaced_key = re.compile('\\\\?"([^"\\\\\\n]{1,128})\\\\?"\\s+:')
        self._norm: typing.Dict[str, str] = {}
        # The capture's own key for fingerprints (lib/redact.ts); none in an older policy file.
        self.fingerprint_key = bytes.fromhex(data.get("fingerprintKey") or "")

    def fingerprint(self, value) -> str:
        return fingerprint(value, self.fingerprint_key)

    @classmethod
    def load(cls, path: str) -> "Policy":
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def secret(self, normalized: str) -> bool:
        return normalized.endswith(self.secret_ends)

    def norm(self, name: str) -> str:
        n = self._norm.get(name)
        if n is None:
            n = name.lower().replace("_", "").replace("-", "")
            if len(self._norm) < 10000:
                self._norm[name] = n
        return n

    def mask_shapes(self, text: str) -> str:
        if self._has_prefix(text):
            return self.shapes.sub(lambda m: self.fingerprint(m.group(0)), text)
        return text

    def _has_prefix(self, text: str) -> bool:
        for anchor, heads in self.prefix_groups.items():
            if anchor not in text:
                continue
            for head, prefixes in heads.items():
                if head in text:
                    for prefix in prefixes:
                        if prefix in text:
                            return True
        return False

    def header_value(self, name_lower: str, value: str) -> str:
        if name_lower not in self.headers and not self.secret(self.norm(name_lower)):
            return self.mask_shapes(value)
        if name_lower in self.scheme_headers:
            parts = value.strip().split(None, 1)
            if len(parts) == 2:
                return parts[0] + " " + self.fingerprint(parts[1].strip())
        return self.fingerprint(value)

    def query(self, query: str) -> str:
        """A query or form text with secret values fingerprinted, key shapes in the rest."""

        def sub(m):
            name = unquote(m.group(2).replace("+", " "))
            n = self.norm(name)
            if n in self.query_names or self.secret(n) or n.endswith(self.query_ends):
                raw = unquote(m.group(3).replace("+", " "))
                return m.group(1) + m.group(2) + "=" + self.fingerprint(raw)
            return self.mask_shapes(m.group(0))

        return _QUERY_RE.sub(sub, query)

    def url(self, url: str) -> str:
        q = url.find("?")
        if q < 0:
            return self.mask_shapes(url)
        h = url.find("#", q)
        end = len(url) if h < 0 else h
        return (self.mask_shapes(url[: q + 1]) + self.query(url[q + 1 : end])
                + self.mask_shapes(url[end:]))

    def json_value(self, value, embedded: bool = False):
        """Returns (new_value, changed): secret fields fingerprinted at any depth; with
        `embedded`, also secret fields written as JSON inside its strings (a tool's arguments
        or output, a config pasted into a prompt), as reports mask them."""
        if isinstance(value, str):
            if embedded:
                masked = self.embedded_fields(value)
                return masked, masked is not value
            return value, False
        if isinstance(value, dict):
            changed = False
            out = {}
            oauth = None
            for k, v in value.items():
                n = self.norm(k)
                if self.secret(n):
                    secret = True
                elif n == "code":
                    if oauth is None:
                        oauth = any(self.norm(o) in self.oauth_markers for o in value)
                    secret = oauth
                else:
                    secret = isinstance(v, (dict, list)) and n.endswith(self.object_ends)
                if secret and self._secret_shaped(v) and not _already_masked(v):
                    out[k] = self.fingerprint(v)
                    changed = True
                else:
                    nv, c = self.json_value(v, embedded)
                    out[k] = nv
                    changed = changed or c
            return (out if changed else value), changed
        if isinstance(value, list):
            changed = False
            out = []
            for v in value:
                nv, c = self.json_value(v, embedded)
                out.append(nv)
                changed = changed or c
            return (out if changed else value), changed
        return value, False

    def _secret_shaped(self, value) -> bool:
        """A value a secret name's field is masked of: a string or number, or a list or object
        holding one at any depth (`["…"]`, `{"type": "bearer", "token": "…"}`), unless that
        object is a JSON Schema: a tool's parameters name their fields too. lib/redact.ts's
        secretShaped decides the same."""
        if _scalar(value):
            return True
        if isinstance(value, dict) and self._json_schema(value):
            return False
        return isinstance(value, (dict, list)) and _holds_scalar(value, 0)

    def _json_schema(self, value: dict) -> bool:
        """Every key a JSON Schema keyword (or `x-…`, `$…`), its `type` (if any) a schema type
        or a list of them."""
        if not value or not all(
            k in self.schema_keywords or k.startswith(("x-", "$")) for k in value
        ):
            return False
        t = value.get("type")
        if t is None and "type" not in value:
            return True
        types = t if isinstance(t, list) else [t]
        return all(isinstance(x, str) and x.lower() in self.schema_types for x in types)

    def json_text(self, text: str) -> str:
        """A JSON text (a WebSocket message, an SSE event's data) with its secrets masked;
        re-encoded only when a field was. Key shapes are masked in any text."""
        text = self.mask_shapes(text)
        if text.lstrip()[:1] not in ("{", "[") or not self.names_secret(text):
            return text
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
        value, changed = self.json_value(value, embedded=True)
        return json.dumps(value, separators=(",", ":")) if changed else text

    def embedded_fields(self, text: str) -> str:
        """A string with the values of secret JSON string fields written in it fingerprinted
        (`run {"apiKey": "k-1"}`), also those of JSON written in one of its strings (a config
        file that a tool call's arguments write: `{"content": "{\\"password\\": …}"}`),
        everything else as it was; the same object when nothing was."""
        masked = text
        if self.holds_secret_key(text):
            masked = self.json_field.sub(self._masked_field, masked)
            masked = self._masked_objects(masked)
        if '\\"' in masked and self.holds_escaped_secret_key(masked):
            masked = _ESCAPED_FIELD.sub(self._masked_escaped_field, masked)
            objects = self._escaped_objects(masked)
            masked = _apply_cuts(masked, [(a, b, mask) for a, b, _, mask in objects])
        return text if masked == text else masked

    def _masked_objects(self, text: str) -> str:
        """A text with the JSON lists and objects written in it under a secret name masked
        whole, as json_value masks them (`{"authorization": {"type": "bearer", "token": …}}`
        in a tool call's arguments), a JSON Schema kept; everything else as it was."""
        parts = []
        pos = 0
        for m in _OBJECT_FIELD.finditer(text):
            if m.start() < pos:
                continue
            n = self.norm(m.group(1))
            if not (self.secret(n) or n.endswith(self.object_ends)):
                continue
            end = _json_end(text, m.end())
            try:
                value = json.loads(text[m.end():end]) if end is not None else None
            except (ValueError, RecursionError):
                continue
            if value is None or not self._secret_shaped(value):
                continue
            parts += [text[pos:m.end()], json.dumps(self.fingerprint(value))]
            pos = end
        if not parts:
            return text
        parts.append(text[pos:])
        return "".join(parts)

    def _masked_escaped_field(self, m) -> str:
        mask = self._escaped_value_mask(m.group(1), m.group(2))
        if mask is None:
            return m.group(0)
        return m.group(0)[: m.start(2) - m.start()] + mask + '\\"'

    def _escaped_value_mask(self, name: str, value: str) -> typing.Optional[str]:
        """The fingerprint of a field's value written inside a JSON string (escaped once more)
        when its name is a secret one, else None. The value is fingerprinted as its own JSON
        writes it, as `_masked_field` does one level up."""
        if not value or not self.secret(self.norm(name)) or _already_masked(value):
            return None
        try:
            raw = json.loads('"%s"' % value)
        except ValueError:
            raw = value
        return self.fingerprint(raw)

    def raw_bytes(self, data: bytes, content_type: str) -> bytes:
        """A body or message that is not UTF-8 (stored as base64) masked in its bytes as a
        UTF-8 one is in its text: an SSE stream as event_stream does, a JSON array or NDJSON
        stream with split_secrets, key shapes, JSON string fields with a secret name and form
        fields anywhere; the rest untouched. The surrogateescape codec gives each byte that is
        not UTF-8 a character of its own and takes it back, and every mask is ASCII."""
        text = data.decode("utf-8", "surrogateescape")
        ct = content_type.lower()
        if "event-stream" in ct or text.startswith(("data:", "event:")):
            masked = self.event_stream(text)
        else:
            masked = self.plain_first(text, lambda t: self._raw_text(t, ct))
        return data if masked == text else masked.encode("utf-8", "surrogateescape")

    def _raw_text(self, text: str, ct: str) -> str:
        streamed = text.lstrip()[:1] == "[" or "\n{" in text
        masked = self.mask_shapes(self.split_secrets([text])[0] if streamed else text)
        if self.names_secret(masked):
            masked = self.json_field.sub(self._masked_field, masked)
        if "x-www-form-urlencoded" in ct:
            masked = self.query(masked)
        return masked

    def holds_secret_key(self, text: str) -> bool:
        """True when a JSON key written in the text is a secret name (`{"apiKey": …}`), or one
        whose list or object is (`credentials`)."""
        return any(
            self.secret(n) or n.endswith(self.object_ends)
            for n in (self.norm(m.group(1)) for m in self.json_key.finditer(text))
        )

    def holds_escaped_secret_key(self, text: str) -> bool:
        """True when a JSON text holds, inside one of its strings, JSON whose key is a secret
        name (`"{\\"apiKey\\": …}"`). Splitting at `\\":` and looking up each key once cost a
        third of a regular expression's scan (0.27 against 0.8 ms for 174 KB)."""
        parts = text.split('\\":')
        # Deeper JSON escapes its backslashes too (`\\\"password\\\":`).
        keys = {part[part.rfind('\\"') + 2 :].rstrip("\\") for part in parts[:-1]}
        if any(self._secret_key(k) for k in keys):
            return True
        return '\\" :' in text and any(
            self._secret_key(m.group(1)) for m in self.escaped_json_key.finditer(text)
        )

    def _secret_key(self, key: str) -> bool:
        """A secret name, or one whose list or object is a secret (`credentials`)."""
        n = self.norm(key)
        return self.secret(n) or n.endswith(self.object_ends)

    def _escaped_objects(self, text: str) -> typing.List[tuple]:
        """(start, end, start of the field, mask) of each list or object under a secret name
        in JSON written inside a JSON string (`{\\"authorization\\": {\\"type\\": …}}`), masked
        whole when json_value would mask it; the mask is the fingerprint as that string
        writes a string (`\\"[REDACTED:…]\\"`)."""
        spans = []
        pos = 0
        for m in _ESCAPED_OBJECT_FIELD.finditer(text):
            if m.start() < pos or not self._secret_key(m.group(1)):
                continue
            end = _json_end(text, m.end(), escaped=True)
            try:
                value = json.loads(json.loads('"%s"' % text[m.end():end])) if end else None
            except (ValueError, RecursionError):
                continue
            if value is None or not self._secret_shaped(value):
                continue
            spans.append((m.end(), end, m.start(), '\\"%s\\"' % self.fingerprint(value)))
            pos = end
        return spans

    def _masked_field(self, m) -> str:
        if not self.secret(self.norm(m.group(2))) or _already_masked(m.group(3)):
            return m.group(0)
        return m.group(1) + self.fingerprint(m.group(3)) + '"'

    def plain_first(self, text: str, mask: typing.Callable[[str], str]) -> str:
        """`mask(text)`; but when the text writes ASCII letters, digits, `-` or `_` as JSON
        `\\u` escapes (`\\u0073k-proj-…`, `"pass\\u0077ord"`: no JSON encoder does, so a
        hostile server), the mask of the text with them written plain if that finds a secret
        the text's own spelling hides. The text stays byte for byte when it does not."""
        if "\\u00" not in text or _PLAIN_ESCAPE.search(text) is None:
            return mask(text)
        plain = _plain_escapes(text)
        masked = mask(plain)
        if masked.count("[REDACTED:") > plain.count("[REDACTED:"):
            return masked
        return mask(text)

    def event_stream(self, text: str) -> str:
        """An SSE body: secrets that only its events read together show (split_secrets), key
        shapes anywhere, secret fields of each `data:` event (see plain_first for keys and
        names written with escapes)."""
        return self.plain_first(text, self._event_stream)

    def _event_stream(self, text: str) -> str:
        events = _sse_data_lines(text) if _has_multiline_data(text) else None
        if events is None:
            text = self.split_secrets([text])[0]
        else:
            text = self._split_joined_events(text, events)
        text = self.mask_shapes(text)
        if not self.names_secret(text):
            return text
        if events is not None:
            text = self._multiline_events(text)
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if line.startswith("data:"):
                data = line[5:].lstrip()
                masked = self.json_text(data)
                if masked != data:
                    lines[i] = "data: " + masked
        return "\n".join(lines)

    def _split_joined_events(self, text: str, events: typing.List[list]) -> str:
        """split_secrets over the events' data as the SSE spec reads it, an event's `data:`
        lines joined (`{"content":` | `data: "sk-…"}`), cut in the text itself. A
        JSON string never holds a raw line break, so a secret stays within one line's data."""
        view: typing.List[str] = []
        at = 0
        segments = []  # (offset in the view, offset in the text, length)
        for lines in events:
            view.append("data: ")
            at += 6
            for k, (a, b) in enumerate(lines):
                if k:
                    # A space where the spec puts "\n": the same to JSON, and the event stays
                    # one line, so the indexes written before a field in its event are read.
                    view.append(" ")
                    at += 1
                segments.append((at, a, b - a))
                view.append(text[a:b])
                at += b - a
            view.append("\n\n")
            at += 2
        cuts = self._split_cuts(["".join(view)]).get(0)
        if not cuts:
            return text
        starts = [v for v, _, _ in segments]
        moved = []
        for a, b, mask in cuts:
            v, t, n = segments[_piece(starts, a)]
            if a >= v and b <= v + n:
                moved.append((a - v + t, b - v + t, mask))
        return _apply_cuts(text, moved)

    def _multiline_events(self, text: str) -> str:
        """Secret fields of the events whose JSON spans several `data:` lines: such an event's
        data is masked joined and written back on its first data line."""
        out = []
        pos = 0
        for lines in _sse_data_lines(text):
            if len(lines) < 2:
                continue
            data = "\n".join(text[a:b] for a, b in lines)
            masked = self.json_text(data)
            if masked == data:
                continue
            out += [text[pos:lines[0][0]], masked]
            pos = lines[0][1]
            for a, b in lines[1:]:
                # The later data lines go, each with the `data:` field and line break before it.
                line = text.rfind("data", pos, a)
                out.append(text[pos:line].rstrip("\r\n") if line > pos else "")
                pos = b
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)

    def names_secret(self, text: str) -> bool:
        """True when a key of the JSON text, also one written inside its strings
        (`\\"apiKey\\":`), may name a secret: a secret name in any spelling, or "code" (an
        OAuth call's). Splitting at `":` and looking up each key once cost a tenth of a
        regular expression spelling out every name (1.0 against 13 ms for a 65 KB stream)."""
        parts = text.split('":')
        keys = {part[part.rfind('"') + 1 :].rstrip("\\") for part in parts[:-1]}
        if any(self._may_name_secret(k) for k in keys):
            return True
        return any(self._may_name_secret(m.group(1)) for m in self.spaced_key.finditer(text))

    def _may_name_secret(self, key: str) -> bool:
        n = self.norm(key)
        return self.secret(n) or n.endswith("code") or n.endswith(self.object_ends)

    def split_secrets(self, texts: typing.List[str]) -> typing.List[str]:
        """`texts` (a stream's SSE text, or the messages one side of a WebSocket sent, in
        order) with the secrets masked that show only when the string fields of one name are
        read joined, as reports read a streamed answer or tool call: a key split across deltas
        (`"s"`, `"k-proj-…"`), a secret field of JSON streamed in pieces (`{\\"pass`,
        `word\\": \\"…\\"}`). The piece where the secret starts gets its fingerprint, the
        others lose their part of it. Fields are read as written, escapes kept: a key's
        characters are never escaped, so pieces are cut where they stand, with no parsing."""
        cuts = self._split_cuts(texts)
        if not cuts:
            return texts
        out = list(texts)
        for ti, todo in cuts.items():
            out[ti] = _apply_cuts(texts[ti], todo)
        return out

    def _split_cuts(self, texts: typing.List[str]) -> typing.Dict[int, list]:
        """split_secrets' cuts: text index -> [(from, to, mask)]."""
        channels: typing.Dict[typing.Any, list] = {}
        for ti, text in enumerate(texts):
            marks = [(m.start(), m.group(0)) for m in _INDEX_FIELD.finditer(text)]
            at = [pos for pos, _ in marks]
            for m in _STRING_FIELD.finditer(text):
                channel: typing.Any = m.group(1)
                if marks:
                    # Pieces of parallel streams (tool calls, choices, content blocks) are told
                    # apart by the indexes written before them in their event.
                    line = text.rfind("\n", 0, m.start()) + 1
                    lo = bisect.bisect_left(at, line)
                    hi = bisect.bisect_left(at, m.start())
                    if hi > lo:
                        channel = (channel,) + tuple(label for _, label in marks[lo:hi])
                channels.setdefault(channel, []).append((ti, m.start(2), m.end(2)))
        cuts: typing.Dict[int, list] = {}
        for pieces in channels.values():
            if len(pieces) < 2:
                continue
            values = [texts[ti][a:b] for ti, a, b in pieces]
            joined = "".join(values)
            spans = self._joined_secrets(joined)
            if not spans:
                continue
            starts = list(itertools.accumulate((len(v) for v in values), initial=0))
            for start, end, whole, mask in spans:
                if _piece(starts, whole) == _piece(starts, end - 1):
                    continue  # within one piece: the pass over each event masks it
                first = _piece(starts, start)
                for k in range(first, _piece(starts, end - 1) + 1):
                    ti, a, b = pieces[k]
                    cut = (a + max(start - starts[k], 0), a + min(end - starts[k], b - a))
                    cuts.setdefault(ti, []).append(cut + (mask if k == first else "",))
        return cuts

    def _joined_secrets(self, joined: str) -> typing.List[tuple]:
        """(start, end, start of the whole match, fingerprint) of each key shape and each
        secret field's value of JSON written in `joined`; a key inside a field's value is
        covered by the field's."""
        fields = []
        if '\\"' in joined and self.holds_escaped_secret_key(joined):
            # Also a level deeper (a file's JSON that streamed tool arguments write), for values
            # without escapes of their own.
            for pattern in (_ESCAPED_FIELD, _ESCAPED2_FIELD):
                for m in pattern.finditer(joined):
                    mask = self._escaped_value_mask(m.group(1), m.group(2))
                    if mask is not None:
                        fields.append((m.start(2), m.end(2), m.start(), mask))
            fields += self._escaped_objects(joined)
        keys = []
        if self._has_prefix(joined):
            keys = [
                (m.start(), m.end(), m.start(), self.fingerprint(m.group(0)))
                for m in self.shapes.finditer(joined)
                if not any(a <= m.start() < b for a, b, _, _ in fields)
            ]
        return fields + keys


# A JSON string field `"name": "value"` as written (escapes kept), for split_secrets.
_STRING_FIELD = re.compile(r'"([^"\\\n]{1,64})"\s*:\s*"([^"\\\n]*(?:\\.[^"\\\n]*)*)"')
# A field holding an index (`"index": 1`, `"output_index": 0`) with its value.
_INDEX_FIELD = re.compile(r'"(?:[A-Za-z]+_)?index"\s*:\s*\d+')
# The same written inside a JSON string (`\"name\": \"value\"`): the value ends at the
# first quote that the inner JSON does not escape.
_ESCAPED_FIELD = re.compile(
    r'\\"([^"\\]{1,128})\\"\s*:\s*\\"((?:[^"\\]|\\\\\\"|\\\\\\\\|\\\\[^"\\]|\\[^"\\])*)\\"'
)

# The same written two levels down (`\\\"name\\\": \\\"value\\\"`), a value without escapes.
_ESCAPED2_FIELD = re.compile(r'\\\\\\"([^"\\]{1,128})\\\\\\"\s*:\s*\\\\\\"([^"\\]*)\\\\\\"')


# A JSON `\u` escape of an ASCII letter, digit, `-` or `_`, which JSON encoders write plain.
_PLAIN_ESCAPE = re.compile(
    r"\\u00(?:2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])"
)
_PLAIN_ESCAPE_RUN = re.compile(r"(\\+)u00(2[dD]|3[0-9]|4[1-9a-fA-F]|5[0-9aAfF]|6[1-9a-fA-F]|7[0-9aA])")


def _plain_escapes(text: str) -> str:
    """`text` with those escapes written plain, at whatever depth of JSON written inside JSON
    strings they stand: a run of 2^m·q backslashes (q odd) before `u00XX` is an escape m+1
    levels down, whose last 2^m backslashes and `u00XX` become the character."""

    def plain(m):
        run = len(m.group(1))
        level = run & -run  # the largest power of two dividing the run
        return m.group(1)[: run - level] + chr(int(m.group(2), 16))

    return _PLAIN_ESCAPE_RUN.sub(plain, text)


# A JSON key whose value, a list or an object, starts right after it; and the same written
# inside a JSON string.
_OBJECT_FIELD = re.compile(r'"([^"\\\n]{1,128})"\s*:\s*(?=[\[{])')
_ESCAPED_OBJECT_FIELD = re.compile(r'\\"([^"\\]{1,128})\\"\s*:\s*(?=[\[{])')


def _json_end(text: str, start: int, escaped: bool = False) -> typing.Optional[int]:
    """Where the JSON list or object starting at `start` ends (past its closing bracket), its
    strings skipped; None when the text ends first. `escaped`: the JSON is written inside a
    JSON string (its quotes `\\"`, its backslashes `\\\\`)."""
    depth = 0
    in_string = False
    backslash = False
    chars = (
        _unescaped(text, start) if escaped
        else zip(text[start:], range(start + 1, len(text) + 1))
    )
    for c, after in chars:
        if in_string:
            if backslash:
                backslash = False
            elif c == "\\":
                backslash = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return after
    return None


def _unescaped(text: str, start: int) -> typing.Iterator[typing.Tuple[str, int]]:
    """The characters of JSON written inside a JSON string, from `start`, each with where it
    ends in `text`; escapes other than a quote's and a backslash's stand for a character that
    is neither. A quote no backslash escapes ends the string, and them."""
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            return
        if c == "\\" and i + 1 < n:
            e = text[i + 1]
            step = 6 if e == "u" else 2
            yield (e if e in '"\\' else " "), i + step
            i += step
        else:
            yield c, i + 1
            i += 1


def _apply_cuts(text: str, cuts: list) -> str:
    """`text` with each (from, to, mask) cut replaced by its mask; overlapping cuts are skipped."""
    parts = []
    pos = 0
    for a, b, mask in sorted(cuts):
        if a < pos:
            continue
        parts += [text[pos:a], mask]
        pos = b
    parts.append(text[pos:])
    return "".join(parts)


def _has_multiline_data(text: str) -> bool:
    """Whether an SSE event may have more than one `data:` line (cheap: blocks between blank
    lines holding "data" twice; a CRLF stream is one such block and gets the full parse)."""
    return any(block.count("data") > 1 for block in text.split("\n\n"))


# One line of an SSE stream and its line break (CRLF, LF or CR, as the spec allows).
_SSE_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


def _sse_data_lines(text: str) -> typing.List[list]:
    """Each event's `data` lines as (from, to) of their values in `text`, parsed as the SSE
    spec does (a blank line ends an event; one space after the colon is not the value's)."""
    events: typing.List[list] = []
    lines: list = []
    for m in _SSE_LINE.finditer(text):
        line = m.group(1)
        if not line:
            if lines:
                events.append(lines)
                lines = []
            if not m.group(2):
                break
            continue
        if line.startswith("data"):
            if line == "data":
                lines.append((m.end(1), m.end(1)))
            elif line[4] == ":":
                a = m.start(1) + 5
                if text.startswith(" ", a):
                    a += 1
                lines.append((a, m.end(1)))
    if lines:
        events.append(lines)
    return events


def _piece(starts: typing.List[int], offset: int) -> int:
    """The index of the piece holding character `offset` of the joined text."""
    return bisect.bisect_right(starts, offset) - 1


def _anchor(prefix: str) -> str:
    """The character of a prefix least common in text: "-" or "_", else an upper-case one."""
    for c in prefix:
        if c in "-_":
            return c
    for c in prefix:
        if c.isupper():
            return c
    return prefix[0]


def _scalar(value) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != ""


def _holds_scalar(value, depth: int) -> bool:
    """Whether a list or object holds a non-empty string or a number, at any depth (to 40)."""
    if _scalar(value):
        return True
    if depth > 40:
        return False
    if isinstance(value, dict):
        return any(_holds_scalar(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_holds_scalar(v, depth + 1) for v in value)
    return False


def _already_masked(value) -> bool:
    return isinstance(value, str) and value.startswith("[REDACTED") and value.endswith("]")


def _gunzip_tolerant(data: bytes, wbits: int) -> bytes:
    """gzip/zlib decode that keeps what it can of a truncated stream."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data)
    try:
        out += d.flush()
    except zlib.error:
        pass
    return out


def decode_content(data: bytes, content_encoding: str) -> typing.Tuple[bytes, bool]:
    """Undoes Content-Encoding. Returns (bytes, ok); on failure the raw bytes and False."""
    encodings = [e.strip().lower() for e in content_encoding.split(",") if e.strip()]
    for enc in reversed(encodings):
        if enc in ("identity", "none"):
            continue
        try:
            if enc in ("gzip", "x-gzip"):
                data = _gunzip_tolerant(data, 16 + zlib.MAX_WBITS)
            elif enc == "deflate":
                try:
                    data = _gunzip_tolerant(data, zlib.MAX_WBITS)
                except zlib.error:
                    data = _gunzip_tolerant(data, -zlib.MAX_WBITS)
            elif _mitm_encoding is not None:
                decoded = _mitm_encoding.decode(data, enc)
                if not isinstance(decoded, bytes):
                    return data, False
                data = decoded
            else:
                return data, False
        except Exception:
            return data, False
    return data, True


def _headers_dict(headers, policy: typing.Optional[Policy]) -> dict:
    """name -> value, repeated names joined with ", " (first spelling of the name kept)."""
    out: dict = {}
    lower_to_name: dict = {}
    for raw_name, raw_value in headers.fields:
        name = raw_name.decode("utf-8", "replace") if isinstance(raw_name, bytes) else raw_name
        value = (
            raw_value.decode("utf-8", "replace") if isinstance(raw_value, bytes) else raw_value
        )
        low = name.lower()
        if policy is not None:
            value = policy.header_value(low, value)
        key = lower_to_name.get(low)
        if key is None:
            lower_to_name[low] = name
            out[name] = value
        else:
            out[key] = out[key] + ", " + value
    return out


class RawJson:
    """A JSON body's own bytes (UTF-8), written into the line as they are (ProbeCapture._write)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


class _JsonCheck:
    """Parse hooks that note what makes a body's own text unsafe to write as it is:

    - a key given twice: readers keep the last one, but the text holds the earlier value too
      (which may be a secret the redaction never saw);
    - NaN, Infinity, or a number too large for a float (1e400): not JSON for other readers.

    It also notes a key that may name a secret (`secret`), so only such a body is walked: the
    parser sees every key anyway, which costs far less than scanning the text for names.
    """

    def __init__(self, policy: typing.Optional["Policy"] = None):
        self.duplicates = False
        self.nonfinite = False
        self.secret = False
        self.policy = policy

    def pairs(self, pairs):
        obj = dict(pairs)
        if len(obj) != len(pairs):
            self.duplicates = True
        if self.policy is not None and not self.secret:
            norm = self.policy.norm
            secret = self.policy.secret
            objects = self.policy.object_ends
            for k, _ in pairs:
                n = norm(k)
                if n == "code" or secret(n) or n.endswith(objects):
                    self.secret = True
                    break
        return obj

    def constant(self, name: str) -> float:
        self.nonfinite = True
        return float(name)

    def number(self, literal: str) -> float:
        value = float(literal)  # never NaN: that literal goes to `constant`
        if value in (_INF, -_INF):
            self.nonfinite = True
        return value


_INF = float("inf")


def _body_fields(
    data: typing.Optional[bytes], content_type: str, policy: typing.Optional[Policy]
) -> dict:
    """The recorded form of a decoded body: body, body_size, body_encoding.

    A JSON body is parsed to check it; when nothing is redacted and it is one line, its own
    text goes into the entry (RawJson): re-encoding a large body cost more than everything
    else the addon does per exchange. Key shapes are masked in the text before it is parsed
    (the mask is JSON-safe), and the parsed value is walked for secret fields only when the
    text holds a secret name.
    """
    if not data:
        return {"body": None, "body_size": 0}
    size = len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if policy is not None:
            data = policy.raw_bytes(data, content_type)
        return {"body": base64.b64encode(data).decode("ascii"), "body_encoding": "base64",
                "body_size": size}
    ct = content_type.lower()
    if policy is not None and "\\u00" in text and _PLAIN_ESCAPE.search(text) is not None:
        # A key or name written with escapes (Policy.plain_first): the body's text with them
        # written plain, if that masks more than the body as it is.
        plain = _plain_escapes(text)
        fields = _body_fields(plain.encode("utf-8"), content_type, policy)
        body = fields["body"]
        out = body.data.decode("utf-8") if isinstance(body, RawJson) else (
            body if isinstance(body, str) else json.dumps(body))
        if out.count("[REDACTED:") > plain.count("[REDACTED:"):
            return dict(fields, body_size=size)
    if "event-stream" in ct or text.startswith(("data:", "event:")):
        # Masked as a whole: a key split across its events is only seen before its parts are.
        # (An SSE stream served under another content type is one too.)
        return {"body": policy._event_stream(text) if policy else text, "body_size": size}
    if policy is not None:
        # So is a JSON array of stream chunks, or a stream of JSON lines (NDJSON).
        streamed = text.lstrip()[:1] == "[" or "\n{" in text
        whole = policy.split_secrets([text])[0] if streamed else text
        masked = policy.mask_shapes(whole)
        if masked != text:
            text = masked
            data = text.encode("utf-8")
    body: typing.Any = text
    check: typing.Optional[_JsonCheck] = None
    stripped = text.lstrip()
    if "json" in ct or stripped[:1] in ("{", "["):
        check = _JsonCheck(policy)
        try:
            body = json.loads(
                text,
                parse_constant=check.constant,
                parse_float=check.number,
                object_pairs_hook=check.pairs,
            )
        except (ValueError, RecursionError):  # too deep to parse: kept as text
            body = text
            check = None
    changed = False
    if policy is not None:
        if isinstance(body, (dict, list)):
            embedded = check is not None and policy.holds_escaped_secret_key(text)
            if check is not None and (check.secret or embedded):
                body, changed = policy.json_value(body, embedded)
        elif "x-www-form-urlencoded" in ct:
            body = policy.query(text)
    if check is not None:
        if check.nonfinite:
            # Kept as text (re-encoded when something was redacted or a key came twice): as
            # an object the line would not be JSON for other readers.
            body = json.dumps(body) if changed or check.duplicates else text
        elif not (changed or check.duplicates or "\n" in text or "\r" in text):
            body = RawJson(data)
    return {"body": body, "body_size": size}


def _make_via(scheme: str, host: str, port: int):
    spec = getattr(_server_spec, "ServerSpec", None) if _server_spec is not None else None
    if spec is not None and hasattr(spec, "_fields"):  # 8.x: a NamedTuple
        return spec(scheme, (host, port))
    return (scheme, (host, port))  # 9+: a plain tuple


@dataclasses.dataclass
class Exchange:
    """One exchange in flight, from its request headers until its entry is written."""

    flow: typing.Any
    id: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    # The streamed response body as it went through (None until the response headers).
    chunks: typing.Optional[typing.List[bytes]] = None
    # An accepted WebSocket upgrade's messages (None for plain HTTP).
    ws: typing.Optional[typing.List[dict]] = None


class Ready:
    """Creates the ready file probe polls for, once the proxy server really listens."""

    def load(self, loader):
        loader.add_option("probe_ready", str, "", "File created once the proxy is listening.")

    def running(self):
        if ctx.options.probe_ready:
            self.task = asyncio.ensure_future(self._announce())

    async def _announce(self):
        # The running hook also fires when the listen socket failed (port in use): mitmdump
        # then exits shortly after. Only announce once the proxy server really listens.
        ps = ctx.master.addons.get("proxyserver")
        for _ in range(600):
            if _listening(ps):
                path = ctx.options.probe_ready
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    f.write(json.dumps({"pid": os.getpid(), "version": _mitm_version()}))
                os.replace(tmp, path)
                return
            await asyncio.sleep(0.05)
        log.error("probe: proxy server did not start listening")


def _listening(ps) -> bool:
    if ps is None:
        return True
    if hasattr(ps, "listen_addrs"):  # 9.x+
        try:
            return bool(ps.listen_addrs())
        except Exception:
            return False
    if hasattr(ps, "running_servers"):  # 8.x
        return bool(ps.running_servers)
    return True


class ParentWatch:
    """probe started this mitmdump: when probe goes (even by SIGKILL) or the terminal hangs up,
    the proxy shuts down (the recorder's done hook still writes what is in flight) instead of
    proxying and recording on its own."""

    def __init__(self):
        self.parent_pid = os.getppid()
        self.orphaned = False
        self.devnull: typing.Optional[int] = None
        self.task = None

    def load(self, loader):
        loader.add_option(
            "probe_watch_parent", bool, True, "Shut down when the process that started us exits."
        )

    def running(self):
        # A hangup (closed terminal, dropped SSH session) reaching mitmdump: shut down as on
        # SIGTERM, writing what is in flight, instead of dying on the spot.
        try:
            asyncio.get_event_loop().add_signal_handler(signal.SIGHUP, ctx.master.shutdown)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
        if ctx.options.probe_watch_parent:
            self.devnull = os.open(os.devnull, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            self.task = asyncio.ensure_future(self._watch())
            # mitmproxy 9+ logs through `logging`: a record emitted after probe died, before
            # the watcher's next look, must not reach the dead pipe either.
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._orphan_filter)

    def _orphan_filter(self, _record) -> bool:
        # logging does not catch what a filter raises: nothing may escape from here.
        try:
            if os.getppid() != self.parent_pid:
                self._orphaned()
        except Exception:
            pass
        return True

    async def _watch(self):
        while os.getppid() == self.parent_pid:
            await asyncio.sleep(0.1)
        self._orphaned()

    def _orphaned(self):
        if self.orphaned:
            return
        # Our stdout and stderr are pipes to the dead probe. mitmproxy exits on the spot when
        # a log line cannot be printed (termlog: "cannot print, exit immediately"), before the
        # done hook writes the exchanges in flight; with PYTHONUNBUFFERED that is the very next
        # line. Nobody reads them any more, so they go to /dev/null (opened in `running`: no
        # new descriptor is needed now, when they may have run out).
        if self.devnull is not None:
            os.dup2(self.devnull, 1)
            os.dup2(self.devnull, 2)
        self.orphaned = True
        ctx.master.shutdown()

    def done(self):
        if self.orphaned:
            _remove_probe_folder(getattr(ctx.options, "probe_ready", ""))


def _remove_probe_folder(ready: str):
    """probe, killed, cannot remove its temp folder (this addon, one NAME.ready per running
    mitmdump): the last of its mitmdumps to shut down does."""
    if not ready:
        return
    try:
        os.remove(ready)
    except OSError:
        pass
    folder = os.path.dirname(ready)
    try:
        others = [n for n in os.listdir(folder) if n.endswith(".ready")]
    except OSError:
        return
    if not others:
        shutil.rmtree(folder, ignore_errors=True)


class UpstreamRouting:
    """Sends every request through a corporate proxy: `upstream_proxy` is not read in reverse
    mode, so the server connection's `via` is set per request (with connection_strategy=lazy)."""

    def __init__(self):
        self.via = None
        self.proxy_auth: typing.Optional[str] = None

    def load(self, loader):
        loader.add_option(
            "probe_upstream_proxy", str, "", "http://[user:pass@]host:port to route through."
        )

    def configure(self, updated):
        if "probe_upstream_proxy" not in updated:
            return
        self.via = None
        self.proxy_auth = None
        # The environment variable keeps proxy credentials out of the process list.
        upstream_proxy = ctx.options.probe_upstream_proxy or os.environ.get(
            "PROBE_UPSTREAM_PROXY", ""
        )
        if not upstream_proxy:
            return
        u = urlsplit(upstream_proxy)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise exceptions.OptionsError(
                "probe_upstream_proxy must be http://[user:pass@]host:port"
            )
        port = u.port or (443 if u.scheme == "https" else 80)
        self.via = _make_via(u.scheme, u.hostname, port)
        if u.username is not None:
            cred = unquote(u.username) + ":" + unquote(u.password or "")
            self.proxy_auth = "Basic " + base64.b64encode(cred.encode("utf-8")).decode()

    def requestheaders(self, flow):
        if self.via is not None:
            flow.server_conn.via = self.via

    def request(self, flow):
        if self.via is not None:
            flow.server_conn.via = self.via

    def http_connect_upstream(self, flow):
        if self.proxy_auth:
            flow.request.headers["Proxy-Authorization"] = self.proxy_auth


def _open_append(path):
    """An owner-only file opened for appending (created if missing), or an OptionsError."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags, 0o600)
    except OSError as e:
        raise exceptions.OptionsError("cannot open %s: %s" % (path, e.strerror or e))


def _allowed(flow) -> bool:
    """Whether allow_hosts lets this request be recorded.

    mitmproxy applies allow_hosts to connections it can tell apart before any HTTP: a CONNECT
    or TLS. A plain-HTTP request sent to a forward proxy (`GET http://host/...`) is proxied
    whatever its host, so the recorder applies the same patterns itself (mitmproxy 12 matches
    `host:port` as well as `host`).
    """
    patterns = ctx.options.allow_hosts
    if not patterns:
        return True
    req = flow.request
    names = (req.host, "%s:%d" % (req.host, req.port))
    return any(re.search(p, name, re.IGNORECASE) for p in patterns for name in names)


class Recorder:
    """Writes each exchange as one JSON line, response bodies teed as they stream through.

    A capture file that cannot be written (disk full, I/O error) stops the proxy visibly, as
    mitmproxy's own save addon does: traffic must not go on unrecorded.
    """

    def __init__(self):
        self.fd: typing.Optional[int] = None
        self.path = ""
        self.policy: typing.Optional[Policy] = None
        self.inflight: typing.Dict[str, Exchange] = {}
        self.inflight_fd: typing.Optional[int] = None
        self.failed: typing.Optional[str] = None
        # Stands in for a RawJson body while the rest of the entry is encoded; random, so no
        # captured text holds it.
        self.raw_marker = "@@probe-raw-" + uuid.uuid4().hex + "-"

    def load(self, loader):
        loader.add_option("probe_output", str, "", "JSONL file that exchanges are appended to.")
        loader.add_option("probe_proxy", str, "", "Short name of this proxy (the proxy field).")
        loader.add_option("probe_keep_secrets", bool, False, "Store secrets unredacted.")
        loader.add_option(
            "probe_redaction", str, "", "Redaction policy file (JSON) written by probe."
        )
        loader.add_option(
            "probe_inflight", str, "",
            "File that a line is appended to when an exchange starts and when it is recorded "
            "(probe capture --view shows exchanges in progress from it).",
        )

    def configure(self, updated):
        opts = ctx.options
        if "probe_redaction" in updated:
            self.policy = None
            if opts.probe_redaction:
                try:
                    self.policy = Policy.load(opts.probe_redaction)
                except (OSError, ValueError, KeyError, re.error) as e:
                    raise exceptions.OptionsError(
                        "cannot read the redaction policy %s: %s" % (opts.probe_redaction, e)
                    )
        if opts.probe_output and not opts.probe_keep_secrets and self.policy is None:
            # Never record secrets by accident: without the policy nothing is written.
            raise exceptions.OptionsError(
                "probe_redaction (the policy file probe writes) is required unless "
                "probe_keep_secrets is set"
            )
        if "probe_output" in updated and opts.probe_output:
            if self.fd is not None:
                os.close(self.fd)
            self.fd = _open_append(opts.probe_output)
            self.path = opts.probe_output
        if "probe_inflight" in updated and opts.probe_inflight:
            self.inflight_fd = _open_append(opts.probe_inflight)

    def _mark(self, record: dict):
        """One line of the in-flight file; losing it only hides a progress marker."""
        if self.inflight_fd is None:
            return
        try:
            os.write(self.inflight_fd, (json.dumps(record) + "\n").encode("utf-8"))
        except OSError as e:
            log.warning("probe: cannot write the in-flight file: %s", e)

    def done(self):
        # Shutdown: whatever is still in flight is written, marked incomplete.
        now = time.time()
        for ex in list(self.inflight.values()):
            self._finish(ex, now, incomplete=True)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.inflight_fd is not None:
            os.close(self.inflight_fd)
            self.inflight_fd = None

    # ---------------------------------------------------------------- HTTP hooks

    def requestheaders(self, flow):
        if self.failed is not None:
            flow.kill()  # not recorded, so not passed on
            return
        if not _allowed(flow):
            return  # passed on unrecorded, like a tunnelled connection
        self.inflight[flow.id] = Exchange(flow)

    def request(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is not None and self.inflight_fd is not None:
            policy = self._policy()
            req = flow.request
            self._mark({
                "id": ex.id,
                "start": req.timestamp_start or time.time(),
                "method": req.method,
                "url": policy.url(req.url) if policy else req.url,
                "proxy": ctx.options.probe_proxy or None,
            })

    def responseheaders(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is None:
            return
        chunks: typing.List[bytes] = []
        ex.chunks = chunks

        def tee(chunk):
            if chunk:
                chunks.append(chunk)
            return chunk

        flow.response.stream = tee

    def response(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is None:
            return
        if getattr(flow, "websocket", None) is not None:
            # An accepted upgrade: the entry is written with its messages at websocket_end.
            ex.ws = []
            return
        self._finish(ex, time.time())

    def websocket_message(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is None or ex.ws is None:
            return
        msg = flow.websocket.messages[-1]
        record = {"from": "client" if msg.from_client else "server", "t": msg.timestamp}
        if msg.is_text:
            # Masked when the socket ends (_entry): a key split across messages is only seen
            # before its parts are.
            record["text"] = msg.content.decode("utf-8", "replace")
        else:
            data = self._policy().raw_bytes(msg.content, "") if self._policy() else msg.content
            record["base64"] = base64.b64encode(data).decode("ascii")
        ex.ws.append(record)

    def websocket_end(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is not None:
            self._finish(ex, time.time())

    def error(self, flow):
        ex = self.inflight.get(flow.id)
        if ex is not None:
            self._finish(ex, time.time())

    def _policy(self) -> typing.Optional[Policy]:
        """The policy to mask with, None with probe_keep_secrets."""
        return None if ctx.options.probe_keep_secrets else self.policy

    # ---------------------------------------------------------------- recording

    def _finish(self, ex: Exchange, now: float, incomplete: bool = False):
        if self.inflight.pop(ex.flow.id, None) is None or self.failed is not None:
            return
        try:
            line = self._line(self._entry(ex, now, incomplete))
        except Exception:
            log.exception("probe: could not record an exchange")
            return
        try:
            self._append(line)
        except OSError as e:
            self._fail(e)
        self._mark({"id": ex.id, "done": True})

    def _entry(self, ex: Exchange, now: float, incomplete: bool) -> dict:
        flow = ex.flow
        policy = self._policy()
        req = flow.request
        start = req.timestamp_start or now

        req_fields = _body_fields(_request_bytes(req), req.headers.get("content-type", ""), policy)
        request = {
            "method": req.method,
            "url": policy.url(req.url) if policy else req.url,
            "headers": _headers_dict(req.headers, policy),
        }
        request.update(req_fields)

        resp = flow.response
        response = None
        first_byte = None
        end = now
        if resp is not None:
            first_byte = resp.timestamp_start
            # A WebSocket's 101 ends at the handshake: its exchange ends when the socket does.
            ws = ex.ws is not None
            if not incomplete and flow.error is None and resp.timestamp_end and not ws:
                end = resp.timestamp_end
            if ex.chunks is not None:
                raw = b"".join(ex.chunks)
                ex.chunks = None
                data, _ = decode_content(raw, resp.headers.get("content-encoding", ""))
            else:
                data = _request_bytes(resp)
            response = {
                "status_code": resp.status_code,
                "headers": _headers_dict(resp.headers, policy),
            }
            response.update(_body_fields(data, resp.headers.get("content-type", ""), policy))

        entry = {
            "timestamp": start,
            "id": ex.id,
            "proxy": ctx.options.probe_proxy,
            "request": request,
            "response": response,
            "timing": {"start": start, "first_byte": first_byte, "end": end},
        }
        if ex.ws is not None:
            entry["websocket"] = _masked_messages(ex.ws, policy) if policy else ex.ws
        if flow.error is not None:
            msg = str(getattr(flow.error, "msg", flow.error))
            entry["error"] = policy.mask_shapes(msg) if policy else msg
        if incomplete:
            entry["incomplete"] = True
        return entry

    def _line(self, entry: dict) -> bytes:
        raws: list = []

        def placeholder(value):
            if not isinstance(value, RawJson):
                raise TypeError(type(value).__name__ + " is not JSON serializable")
            raws.append(value.data)
            return "%s%d" % (self.raw_marker, len(raws) - 1)

        text = json.dumps(entry, default=placeholder)
        # The placeholders are found in the small encoded entry, then the bodies' bytes are
        # joined in: they are never searched or copied more than once.
        parts = []
        pos = 0
        for i, raw in enumerate(raws):
            mark = '"%s%d"' % (self.raw_marker, i)
            at = text.index(mark, pos)
            parts.append(text[pos:at].encode("ascii"))
            parts.append(raw)
            pos = at + len(mark)
        parts.append(text[pos:].encode("ascii"))
        parts.append(b"\n")
        return b"".join(parts)

    def _append(self, line: bytes):
        """One whole line or none: a write that fails part way is cut back off the file, so
        every line in it stays complete JSON."""
        if self.fd is None:
            return
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        try:
            start = os.fstat(self.fd).st_size
            try:
                view = memoryview(line)
                while view:
                    n = os.write(self.fd, view)
                    view = view[n:]
            except OSError:
                try:
                    os.ftruncate(self.fd, start)
                except OSError:
                    pass
                raise
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _fail(self, err: OSError):
        """Like mitmproxy's save addon: say which file and why, and stop, rather than let
        traffic through unrecorded. probe reads this line from mitmdump's output."""
        reason = err.strerror or str(err)
        self.failed = "probe: cannot write %s: %s (errno %s)" % (self.path, reason, err.errno)
        try:
            sys.stderr.write(self.failed + "\n")
            sys.stderr.flush()
        except Exception:
            pass
        # Exchanges still in flight cannot be recorded either: end them now.
        for ex in list(self.inflight.values()):
            try:
                ex.flow.kill()
            except Exception:
                pass
        self.inflight.clear()
        sys.exit(1)


def _masked_messages(records: typing.List[dict], policy: Policy) -> typing.List[dict]:
    """WebSocket message records with their texts masked, each side's read in order."""
    out = list(records)
    for side in ("client", "server"):
        at = [i for i, r in enumerate(records) if r["from"] == side and "text" in r]

        def mask(joined: str) -> str:
            # One side's texts joined by a separator no text holds, so that a key or name
            # written with escapes is read plain the same way (Policy.plain_first) as a body.
            texts = policy.split_secrets(joined.split(_WS_SEPARATOR))
            return _WS_SEPARATOR.join(policy.json_text(text) for text in texts)

        texts = policy.plain_first(
            _WS_SEPARATOR.join(records[i]["text"] for i in at), mask
        ).split(_WS_SEPARATOR)
        for i, text in zip(at, texts):
            out[i] = dict(records[i], text=text)
    return out


# Between one side's WebSocket texts while they are masked: a text message is UTF-8, which
# never holds this (a lone surrogate).
_WS_SEPARATOR = "\ud800"


def _request_bytes(message) -> typing.Optional[bytes]:
    """Decoded body of a non-streamed message; raw bytes when the encoding is unknown."""
    try:
        return message.content
    except Exception:
        return message.raw_content


def _mitm_version() -> str:
    try:
        from mitmproxy import version

        return version.VERSION
    except Exception:
        return "unknown"


addons = [Ready(), ParentWatch(), UpstreamRouting(), Recorder()]
