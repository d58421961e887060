#!/usr/bin/env python3
"""A delaying, fault-injecting HTTP/1.1 proxy on 127.0.0.1, for testing how
the remote-archive client copes with latency and with misbehaving servers.

It sits in front of a plain-HTTP upstream (nginx's HTTP port, radosgw) and
forwards each client connection over its own upstream connection, keeping
both alive. Stdlib only (asyncio).

Delay: every chunk of bytes, either way, is held delay_ms before it is
forwarded; chunks are queued with their time, so throughput is not limited
(hundreds of MB/s on loopback). A request and its response on a reused
connection thus cost about 2 x delay more. On a new connection nothing goes
upstream before 3 x delay after the connect, so its first request costs
about 4 x delay, as with the round trip of a TCP handshake. Answers the
proxy makes itself (503, 429, reset, drop) take the same time.

Faults: the proxy parses requests and responses (heads; bodies framed by
Content-Length or chunked) so that it can act per request. Only GET
requests with a Range header (the data reads) are faulted; everything else
passes through unchanged. Each ranged GET gets at most one fault, taken
first from the fail_next queue, else drawn with a seeded RNG from the
probabilities of set_faults / --faults. Kinds:

  503, 429   answer that status with a small XML body; the request does not
             reach upstream; the connection stays open
  reset      close the client connection with a TCP RST before any byte of
             the response
  drop       close the client connection with a FIN before any byte of the
             response
  short      forward status and headers (Content-Length unchanged) and the
             first half of the body, then close the connection
  slow       forward the first half of the body, stall stall_s seconds,
             then the rest
  badrange   206 responses: Content-Range names another range of the same
             length (shifted by one byte) and the same total; body unchanged
  longbody   the request goes upstream without Range (and If-Range), so the
             client gets 200 and the whole object
  wrongetag  the response's ETag is replaced by a different one (added if
             it had none)

Library use:

    with FaultProxy("127.0.0.1", nginx.http_port, delay_ms=25) as proxy:
        url = proxy.url("/f")
        proxy.fail_next("503", count=2)
        proxy.set_faults({"reset": 0.1, "short": 0.1}, seed=1)
        proxy.stats()  # {"connections": .., "requests": .., "ranged_gets": ..,
                       #  "faults": {"503": 2, ...}}

Command line:

    fault_proxy.py --upstream 127.0.0.1:PORT [--listen PORT] [--delay-ms MS]
                   [--faults "503:0.2,reset:0.1"] [--seed N] [--stall-s S]

prints {"port": N} as one JSON line once listening, runs until SIGTERM or
SIGINT, then prints {"stats": {...}} and exits.
"""
import argparse
import asyncio
import collections
import hashlib
import json
import random
import re
import signal
import socket
import struct
import sys
import threading

KINDS = ("503", "429", "reset", "drop", "short", "slow", "badrange", "longbody", "wrongetag")
# Faults decided before the request would go upstream: the proxy answers itself.
LOCAL_KINDS = ("503", "429", "reset", "drop")

MAX_HEAD = 64 * 1024           # a longer head switches the direction to raw pass-through
SINK_HIGH = 32 * 1024 * 1024   # queued bytes per direction before reading pauses
SINK_LOW = 8 * 1024 * 1024     # ... and resumes
WRITE_HIGH = 4 * 1024 * 1024   # transport write buffer limit
READ_SIZE = 1024 * 1024        # bytes per recv

# ---------------------------------------------------------------- fault choice


def parse_fault_spec(spec):
    """'503:0.2,reset:0.1' -> {"503": 0.2, "reset": 0.1} (validated)."""
    faults = {}
    for item in filter(None, (s.strip() for s in (spec or "").split(","))):
        kind, sep, prob = item.partition(":")
        if not sep:
            raise ValueError("fault %r: expected KIND:PROBABILITY" % item)
        faults[kind.strip()] = float(prob)
    check_faults(faults)
    return faults


def check_faults(faults):
    for kind, prob in faults.items():
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (known: %s)" % (kind, ", ".join(KINDS)))
        if not 0 <= prob <= 1:
            raise ValueError("fault %s: probability %r not in [0, 1]" % (kind, prob))
    if sum(faults.values()) > 1 + 1e-9:
        raise ValueError("fault probabilities add up to more than 1")


class FaultPlan:
    """Chooses the fault of each ranged GET and counts what happened.
    Thread-safe: tests change it while the proxy's loop uses it."""

    def __init__(self, faults=None, seed=0):
        self._lock = threading.Lock()
        self._queue = collections.deque()
        self._counts = collections.Counter()
        self._faults = {}
        self._rng = random.Random(seed)
        self.set_faults(faults or {}, seed)

    def set_faults(self, faults, seed=0):
        faults = {str(k): float(v) for k, v in faults.items()}
        check_faults(faults)
        with self._lock:
            self._faults = faults
            self._rng = random.Random(seed)

    def fail_next(self, kind, count=1):
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r" % kind)
        with self._lock:
            self._queue.extend([kind] * count)

    def clear(self):
        """No more faults: empties the fail_next queue and the probabilities."""
        with self._lock:
            self._queue.clear()
            self._faults = {}

    def choose(self):
        """The fault for the next ranged GET, or None."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if not self._faults:
                return None
            r = self._rng.random()
            for kind, prob in self._faults.items():
                if r < prob:
                    return kind
                r -= prob
            return None

    def count(self, what):
        with self._lock:
            self._counts[what] += 1

    def stats(self):
        with self._lock:
            c = dict(self._counts)
        faults = {k: c.pop("fault:" + k) for k in KINDS if "fault:" + k in c}
        return {"connections": c.get("connections", 0), "requests": c.get("requests", 0),
                "ranged_gets": c.get("ranged_gets", 0), "faults": faults}


# ---------------------------------------------------------------- HTTP heads


class Head:
    """A parsed request or response head: first line and header list."""

    def __init__(self, raw):
        lines = raw.decode("latin-1").split("\r\n")
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError("bad header line %r" % line)
            self.headers.append((name.strip(), value.strip()))

    def get(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def remove(self, name):
        name = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name]

    def set(self, name, value):
        for i, (k, _) in enumerate(self.headers):
            if k.lower() == name.lower():
                self.headers[i] = (k, value)
                return
        self.headers.append((name, value))

    def encode(self):
        lines = [self.first] + ["%s: %s" % kv for kv in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def framing(self):
        """('chunked', None), ('length', N) or ('none', None) if neither."""
        te = (self.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return "chunked", None
        cl = self.get("Content-Length")
        if cl is not None:
            return "length", int(cl.split(",")[0].strip())
        return "none", None


# ---------------------------------------------------------------- message framing


class MessageStream:
    """Splits one direction's bytes into HTTP/1.1 messages.

    Subclasses get on_head(raw) for each head and decide its body with
    self.expect_body(...); body bytes go to on_body(bytes) and the end of
    each message to on_end(). Unparseable input switches to raw
    pass-through (on_raw) for the rest of the connection.
    """

    def __init__(self):
        self.state = "head"
        self.buf = bytearray()
        self.remaining = 0
        self.chunk_state = None
        self.stopped = False

    # -- to be provided by subclasses
    def on_head(self, raw):
        raise NotImplementedError

    def on_body(self, data):
        raise NotImplementedError

    def on_end(self):
        pass

    def on_raw(self, data):
        raise NotImplementedError

    # -- framing
    def expect_body(self, kind, length=0):
        """Called from on_head: 'length' with a byte count, 'chunked',
        'close' (until the connection closes) or 'none'."""
        if kind == "length" and length > 0:
            self.state, self.remaining = "body", length
        elif kind == "chunked":
            self.state, self.chunk_state, self.remaining = "chunked", "size", 0
        elif kind == "close":
            self.state = "close"
        else:
            self.state = "end"

    def feed(self, data):
        pos = 0
        while pos < len(data) and not self.stopped:
            if self.state == "head":
                data, pos = self._feed_head(data, pos)
            elif self.state == "body":
                take = min(self.remaining, len(data) - pos)
                self.on_body(data if pos == 0 and take == len(data) else data[pos:pos + take])
                pos += take
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "end"
            elif self.state == "chunked":
                pos = self._feed_chunked(data, pos)
            elif self.state in ("close", "raw"):
                chunk = data if pos == 0 else data[pos:]
                (self.on_raw if self.state == "raw" else self.on_body)(chunk)
                pos = len(data)
            if self.state == "end":
                self.state = "head"
                self.on_end()

    def _feed_head(self, data, pos):
        self.buf += data[pos:]
        while self.buf[:2] == b"\r\n":  # stray empty lines between messages
            del self.buf[:2]
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._go_raw()
            return b"", 0
        raw, rest = bytes(self.buf[:end + 4]), bytes(self.buf[end + 4:])
        self.buf.clear()
        try:
            self.on_head(raw)
        except ValueError:
            self.buf += raw
            self._go_raw()
            return rest, 0
        return rest, 0

    def _go_raw(self):
        self.state = "raw"
        data, self.buf = bytes(self.buf), bytearray()
        if data:
            self.on_raw(data)

    def _feed_chunked(self, data, pos):
        """Passes a chunked body through unchanged, tracking its end."""
        if self.chunk_state == "data":
            take = min(self.remaining, len(data) - pos)
            self.on_body(data[pos:pos + take])
            self.remaining -= take
            if self.remaining == 0:
                self.chunk_state = "size"
            return pos + take
        nl = data.find(b"\n", pos)
        if nl < 0:
            self.buf += data[pos:]
            self.on_body(data[pos:])
            if len(self.buf) > MAX_HEAD:  # not chunked framing after all
                self.buf.clear()
                self.state = "raw"
            return len(data)
        line = bytes(self.buf) + data[pos:nl + 1]
        self.buf.clear()
        self.on_body(data[pos:nl + 1])
        self._chunk_line(line.strip())
        return nl + 1

    def _chunk_line(self, line):
        if self.chunk_state == "size":
            if not line:
                return  # the CRLF after a chunk's data
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                self.state = "raw"
                return
            if size:
                self.chunk_state, self.remaining = "data", size
            else:
                self.chunk_state = "trailer"
        elif self.chunk_state == "trailer" and not line:
            self.state = "end"


# ---------------------------------------------------------------- delayed output


class DelayedSink:
    """Writes bytes to one transport delay_s after they were queued.

    Queued items are (due time, kind, payload): data, a stall (nothing is
    written until payload seconds after it comes due) or an action (a
    callable run when due). The source transport's reading is paused while
    more than SINK_HIGH bytes wait.
    """

    def __init__(self, loop, delay_s):
        self.loop = loop
        self.delay_s = delay_s
        self.queue = collections.deque()
        self.queued = 0
        self.transport = None
        self.source = None
        self.source_paused = False
        self.write_paused = False
        self.hold_until = 0.0
        self.timer = None
        self.closed = False

    def attach(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH)
        self._kick()

    def push(self, data):
        if self.closed or not data:
            return
        self.queue.append((self.loop.time() + self.delay_s, "data", data))
        self.queued += len(data)
        if self.queued > SINK_HIGH and self.source and not self.source_paused:
            self.source_paused = True
            self.source.pause_reading()
        self._kick()

    def push_stall(self, seconds):
        if self.closed:
            return
        self.queue.append((self.loop.time() + self.delay_s, "stall", seconds))
        self._kick()

    def push_action(self, fn):
        if self.closed:
            return
        self.queue.append((self.loop.time() + self.delay_s, "action", fn))
        self._kick()

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.write_paused = False
        self._kick()

    def close(self):
        self.closed = True
        self.queue.clear()
        if self.timer:
            self.timer.cancel()
            self.timer = None

    def _kick(self):
        if self.timer is None and self.queue and self.transport and not self.write_paused:
            self.timer = self.loop.call_soon(self._run)

    def _run(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and not self.write_paused and not self.closed:
            due, kind, payload = self.queue[0]
            due = max(due, self.hold_until)
            if due > now:
                self.timer = self.loop.call_at(due, self._run)
                break
            self.queue.popleft()
            if kind == "data":
                self.queued -= len(payload)
                self.transport.write(payload)
            elif kind == "stall":
                self.hold_until = now + payload
            else:
                payload()
        if self.source_paused and self.queued < SINK_LOW and not self.closed:
            self.source_paused = False
            self.source.resume_reading()


# ---------------------------------------------------------------- one connection


class RequestInfo:
    """What the response side needs to know about a request it answers."""

    __slots__ = ("method", "fault", "range", "arrived")

    def __init__(self, method, fault, rng):
        self.method, self.fault, self.range = method, fault, rng
        # Requests the proxy answers itself are answered once they would
        # have reached upstream, so that they cost a full round trip too.
        self.arrived = fault not in LOCAL_KINDS


class RequestStream(MessageStream):
    """Client to upstream: decides each request's fault, forwards it (or
    not, for faults the proxy answers itself)."""

    def __init__(self, conn):
        super().__init__()
        self.conn = conn
        self.forwarding = True

    def on_head(self, raw):
        head = Head(raw)
        method = head.first.split(" ", 1)[0].upper()
        rng = head.get("Range")
        plan = self.conn.proxy.plan
        plan.count("requests")
        fault = None
        if method == "GET" and rng is not None:
            plan.count("ranged_gets")
            fault = plan.choose()
        kind, length = head.framing()
        self.expect_body("none" if kind == "none" else kind, length or 0)
        self.forwarding = fault not in LOCAL_KINDS
        if fault == "longbody":
            head.remove("Range")
            head.remove("If-Range")
            raw = head.encode()
        info = RequestInfo(method, fault, rng)
        self.conn.pending.append(info)
        if self.forwarding:
            self.conn.to_upstream.push(raw)
        else:
            self.conn.to_upstream.push_action(lambda: self.conn.arrived(info))

    def on_body(self, data):
        if self.forwarding:
            self.conn.to_upstream.push(data)

    def on_raw(self, data):
        self.conn.to_upstream.push(data)


class ResponseStream(MessageStream):
    """Upstream to client: applies the fault chosen for the request that
    each response answers."""

    def __init__(self, conn):
        super().__init__()
        self.conn = conn
        self.info = None
        self.half = None     # body bytes left before the fault's midpoint
        self.busy = False    # inside a response (head seen, end not yet)

    def on_head(self, raw):
        head = Head(raw)
        parts = head.first.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("not a status line: %r" % head.first)
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            self.conn.to_client.push(raw)  # interim (100 Continue): same request
            return
        self.info = self.conn.next_request_info()
        self.busy = True
        if status == 101:  # protocol switch: no more HTTP/1.1 to parse
            self.conn.to_client.push(raw)
            self.expect_body("none")
            self.state = "raw"
            self.conn.requests.state = "raw"
            return
        raw = self._fault_head(head, status, raw)
        self.conn.to_client.push(raw)
        self._frame_body(head, status)

    def _fault_head(self, head, status, raw):
        fault = self.info.fault if self.info else None
        plan = self.conn.proxy.plan
        if fault == "badrange" and status == 206:
            shifted = shift_content_range(head.get("Content-Range"))
            if shifted:
                head.set("Content-Range", shifted)
                plan.count("fault:badrange")
                return head.encode()
        elif fault == "wrongetag":
            head.set("ETag", other_etag(head.get("ETag")))
            plan.count("fault:wrongetag")
            return head.encode()
        elif fault == "longbody" and status == 200:
            plan.count("fault:longbody")
        return raw

    def _frame_body(self, head, status):
        method = self.info.method if self.info else "GET"
        kind, length = head.framing()
        self.half = None
        if method == "HEAD" or status in (204, 304):
            self.expect_body("none")
            return
        if kind == "none":
            self.expect_body("close")
            return
        self.expect_body(kind, length or 0)
        fault = self.info.fault if self.info else None
        if kind == "length" and fault in ("short", "slow") and length:
            self.half = length // 2

    def on_body(self, data):
        if self.half is None:
            self.conn.to_client.push(data)
            return
        first, rest = data[:self.half], data[self.half:]
        self.half -= len(first)
        self.conn.to_client.push(first)
        if self.half > 0:
            return
        self.half = None
        if self.info.fault == "short":
            self.conn.proxy.plan.count("fault:short")
            self.stopped = True
            self.conn.to_client.push_action(self.conn.close_both)
            return
        self.conn.proxy.plan.count("fault:slow")
        self.conn.to_client.push_stall(self.conn.proxy.stall_s)
        self.conn.to_client.push(rest)

    def on_end(self):
        self.busy = False
        self.info = None
        self.conn.answer_local()

    def on_raw(self, data):
        self.conn.to_client.push(data)


def shift_content_range(value):
    """'bytes A-B/T' -> the same length shifted by one byte within T, or
    None if it cannot be (then the total is changed instead)."""
    m = re.match(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", value or "")
    if not m:
        return None
    a, b, total = int(m.group(1)), int(m.group(2)), m.group(3)
    if total == "*" or b + 1 < int(total):
        return "bytes %d-%d/%s" % (a + 1, b + 1, total)
    if a > 0:
        return "bytes %d-%d/%s" % (a - 1, b - 1, total)
    return "bytes %d-%d/%d" % (a, b, int(total) + 1)


def other_etag(value):
    """An ETag that differs from value, in S3's quoted-hex form."""
    return '"%s"' % hashlib.md5(("other:" + (value or "")).encode()).hexdigest()


def error_response(status):
    """A small S3-like error response that keeps the connection open."""
    reason, code = {"503": ("Service Unavailable", "SlowDown"),
                    "429": ("Too Many Requests", "TooManyRequests")}[status]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>injected by fault_proxy</Message></Error>\n' % code).encode()
    head = ("HTTP/1.1 %s %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "Connection: keep-alive\r\n\r\n" % (status, reason, len(body)))
    return head.encode() + body


class ProxyConnection:
    """One client connection and its upstream connection."""

    def __init__(self, proxy, client_transport):
        loop = proxy.loop
        self.proxy = proxy
        self.client = client_transport
        self.upstream = None
        self.closed = False
        delay = proxy.delay_ms / 1000.0
        self.to_upstream = DelayedSink(loop, delay)
        self.to_upstream.source = client_transport
        self.to_upstream.hold_until = loop.time() + 3 * delay  # handshake round trip
        self.to_client = DelayedSink(loop, delay)
        self.to_client.attach(client_transport)
        self.requests = RequestStream(self)
        self.responses = ResponseStream(self)
        self.pending = collections.deque()  # RequestInfo of requests not yet answered
        proxy.connections.add(self)
        proxy.plan.count("connections")
        self.connect_task = loop.create_task(self._connect())

    async def _connect(self):
        try:
            transport, _ = await self.proxy.loop.create_connection(
                lambda: UpstreamProtocol(self), self.proxy.upstream_host,
                self.proxy.upstream_port)
        except OSError:
            self.close_both()
            return
        if self.closed:
            transport.abort()
            return
        self.upstream = transport
        _nodelay(transport)
        self.to_client.source = transport
        self.to_upstream.attach(transport)

    # -- request/response pairing
    def arrived(self, info):
        """A request the proxy answers itself has come through the delay."""
        info.arrived = True
        self.answer_local()

    def next_request_info(self):
        """The request the upstream response now starting answers (None for
        a response nobody asked for, such as a 408 before closing)."""
        if self.pending and self.pending[0].fault not in LOCAL_KINDS:
            return self.pending.popleft()
        return None

    def answer_local(self):
        """Answers, in order, the requests at the head of the queue whose
        fault the proxy answers itself, once no response is in progress."""
        while self.pending and not self.responses.busy and not self.closed:
            info = self.pending[0]
            if info.fault not in LOCAL_KINDS or not info.arrived:
                return
            self.pending.popleft()
            self.proxy.plan.count("fault:" + info.fault)
            if info.fault in ("503", "429"):
                self.to_client.push(error_response(info.fault))
            else:
                self.to_client.push_action(self.reset if info.fault == "reset" else self.close_both)
                self.requests.stopped = True
                return

    # -- closing
    def reset(self):
        """Closes the client connection with RST once earlier bytes are out."""
        if self.client.get_write_buffer_size():
            self.proxy.loop.call_later(0.001, self.reset)
            return
        sock = self.client.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.client.abort()
        self.abort()

    def close_both(self):
        """Closes the client connection with FIN (after what was written)
        and the upstream connection."""
        if self.closed:
            return
        self.closed = True
        self.to_client.close()
        self.to_upstream.close()
        self.client.close()
        if self.upstream:
            self.upstream.abort()
        self.connect_task.cancel()
        self.proxy.connections.discard(self)

    def abort(self):
        """Drops both connections at once."""
        self.closed = True
        self.to_client.close()
        self.to_upstream.close()
        self.client.abort()
        if self.upstream:
            self.upstream.abort()
        self.connect_task.cancel()
        self.proxy.connections.discard(self)

    def client_eof(self):
        """The client is done sending: half-close upstream after what is queued."""
        def send_eof():
            if self.upstream and self.upstream.can_write_eof():
                self.upstream.write_eof()
        self.to_upstream.push_action(send_eof)

    def upstream_closed(self):
        """Upstream closed: the client gets what is queued, then a FIN."""
        self.to_client.push_action(self.close_both)


def _nodelay(transport):
    transport.max_size = READ_SIZE  # bytes per recv (asyncio's default: 256 KiB)
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class ClientProtocol(asyncio.Protocol):
    def __init__(self, proxy):
        self.proxy = proxy
        self.conn = None

    def connection_made(self, transport):
        _nodelay(transport)
        self.conn = ProxyConnection(self.proxy, transport)

    def data_received(self, data):
        if not self.conn.closed:
            self.conn.requests.feed(data)

    def eof_received(self):
        self.conn.client_eof()
        return True

    def connection_lost(self, exc):
        if not self.conn.closed:
            self.conn.abort()

    def pause_writing(self):
        self.conn.to_client.pause_writing()

    def resume_writing(self):
        self.conn.to_client.resume_writing()


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self, conn):
        self.conn = conn

    def data_received(self, data):
        if not self.conn.closed:
            self.conn.responses.feed(data)

    def eof_received(self):
        return False

    def connection_lost(self, exc):
        if not self.conn.closed:
            self.conn.upstream_closed()

    def pause_writing(self):
        self.conn.to_upstream.pause_writing()

    def resume_writing(self):
        self.conn.to_upstream.resume_writing()


# ---------------------------------------------------------------- the proxy


class FaultProxy:
    """The proxy, run by an event loop in a background thread.

    FaultProxy(upstream_host, upstream_port, delay_ms=0, listen_port=0,
    faults=None, seed=0, stall_s=3.0); start()/stop() or a with-block.
    .port is the listening port on 127.0.0.1, .url(path) a URL through it.
    """

    def __init__(self, upstream_host, upstream_port, delay_ms=0, listen_port=0,
                 faults=None, seed=0, stall_s=3.0):
        self.upstream_host = upstream_host
        self.upstream_port = int(upstream_port)
        self.delay_ms = float(delay_ms)
        self.listen_port = int(listen_port)
        self.stall_s = float(stall_s)
        self.plan = FaultPlan(faults, seed)
        self.port = None
        self.loop = None
        self.server = None
        self.connections = set()
        self._thread = None
        self._ready = threading.Event()
        self._error = None

    # -- control, callable from any thread
    def set_faults(self, faults, seed=0):
        """Probabilities per kind for ranged GETs, e.g. {"503": 0.2}, with
        a fresh RNG seeded with seed."""
        self.plan.set_faults(faults, seed)

    def fail_next(self, kind, count=1):
        """Applies kind to the next count ranged GETs (before any drawn fault)."""
        self.plan.fail_next(kind, count)

    def clear_faults(self):
        self.plan.clear()

    def stats(self):
        """Counts: connections, requests, ranged_gets, faults {kind: n}."""
        return self.plan.stats()

    def url(self, path="/"):
        return "http://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    # -- lifetime
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        """Starts the loop thread; returns once the proxy listens."""
        self._thread = threading.Thread(target=self._thread_main, name="fault-proxy",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error:
            self.stop()
            raise RuntimeError("fault proxy did not start: %s" % self._error)
        return self

    def stop(self):
        """Closes the listener and every connection; returns within 2 s."""
        loop, thread = self.loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            try:
                loop.call_soon_threadsafe(self._shutdown)
            except RuntimeError:
                pass  # loop already closed
            thread.join(2)
        self._thread = None

    def _thread_main(self):
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._listen())
        except OSError as e:
            self._error = e
            self._ready.set()
            self.loop.close()
            return
        self._ready.set()
        try:
            self.loop.run_forever()
        finally:
            self._close_loop()

    async def _listen(self):
        self.server = await self.loop.create_server(
            lambda: ClientProtocol(self), "127.0.0.1", self.listen_port,
            reuse_address=True, backlog=128)
        self.port = self.server.sockets[0].getsockname()[1]

    def _shutdown(self):
        if self.server:
            self.server.close()
        for conn in list(self.connections):
            conn.abort()
        self.loop.stop()

    def _close_loop(self):
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        try:
            self.loop.run_until_complete(asyncio.sleep(0))
        finally:
            self.loop.close()


# ---------------------------------------------------------------- command line


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="HOST:PORT of the HTTP upstream")
    p.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--faults", default="", help='e.g. "503:0.2,reset:0.1" (ranged GETs)')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stall-s", type=float, default=3.0, help="stall of the slow fault")
    args = p.parse_args(argv)
    host, _, port = args.upstream.rpartition(":")
    try:
        faults = parse_fault_spec(args.faults)
    except ValueError as e:
        p.error(str(e))
    proxy = FaultProxy(host or "127.0.0.1", int(port), delay_ms=args.delay_ms,
                       listen_port=args.listen, faults=faults, seed=args.seed,
                       stall_s=args.stall_s)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    with proxy:
        print(json.dumps({"port": proxy.port}), flush=True)
        while not done.wait(0.5):
            pass
    print(json.dumps({"stats": proxy.stats()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
