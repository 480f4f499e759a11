"""
probe's forward-mode routing, loaded before the recording addon (`-s` order is hook order).

`probe_forward_map` is a JSON object {"host": "scheme://host:port"}: a request to that host is
sent to the given server instead, with its Host header left as the agent sent it, and when the
response (or the error) arrives the request's scheme, host and port are put back, so the
recorder writes the real URL the agent asked for. Runs unchanged on mitmproxy 8.1 to 12.x.
"""

import json
import typing
from urllib.parse import urlsplit

from mitmproxy import ctx


class ProbeForward:
    def __init__(self):
        self.routes: typing.Dict[str, typing.Tuple[str, str, int]] = {}
        self.original: dict = {}  # flow.id -> (flow, (scheme, host, port))

    def load(self, loader):
        loader.add_option(
            "probe_forward_map", str, "", "JSON {host: URL}: where requests to a host go."
        )

    def configure(self, updated):
        if "probe_forward_map" not in updated:
            return
        routes = {}
        for host, url in json.loads(ctx.options.probe_forward_map or "{}").items():
            u = urlsplit(url)
            port = u.port or (443 if u.scheme == "https" else 80)
            routes[host.lower()] = (u.scheme, u.hostname, port)
        self.routes = routes

    def request(self, flow):
        route = self.routes.get(flow.request.host.lower())
        if route is None:
            return
        req = flow.request
        self.original[flow.id] = (flow, (req.scheme, req.host, req.port))
        authority = req.host_header
        req.scheme, req.host, req.port = route
        # The server sees the host the agent named (a local model server ignores it).
        if authority:
            req.host_header = authority

    def _restore(self, flow):
        held = self.original.pop(flow.id, None)
        if held is None:
            return
        original = held[1]
        authority = flow.request.host_header
        flow.request.scheme, flow.request.host, flow.request.port = original
        if authority:
            flow.request.host_header = authority

    def response(self, flow):
        self._restore(flow)

    def error(self, flow):
        self._restore(flow)

    def done(self):
        # Flows still in flight at shutdown are written by the recorder's done hook, after this.
        for flow, _ in list(self.original.values()):
            self._restore(flow)


addons = [ProbeForward()]
