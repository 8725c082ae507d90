"""The simulator's HTTP plumbing: a threading server, request bodies, answers on the wire.

Knows nothing of Kling. An *app* (``routes.Router``) takes a :class:`Request` and returns an
answer: a :class:`Reply` (JSON, text or empty), a :class:`FileReply` (a file, paced, perhaps cut
half way) or a :class:`ChunkedJson` (a huge body sent chunked). Raising :class:`Drop` closes the
connection without an answer; :class:`BadRequest` answers 400 ``{"error": ...}``.

Every request is reported once to ``on_request`` with the status sent, *before* the client can
read the answer, so a test that looks at the log right after a call never races.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

_MB = 1024 * 1024
JSON_LIMIT = 1 * _MB
CHUNK = 256 * 1024


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int  # 0 when the connection was closed without an answer


@dataclass(frozen=True)
class Reply:
    """An answer with a JSON body, a text body (``text=True``) or none (``body=None``)."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    text: bool = False


@dataclass(frozen=True)
class FileReply:
    """200 with a file's bytes; ``cut`` sends half of them and hangs up."""

    path: Path
    content_type: str
    cut: bool = False


@dataclass(frozen=True)
class ChunkedJson:
    """200 with a valid JSON object of about ``size`` bytes, chunked (no Content-Length)."""

    size: int


Answer = Reply | FileReply | ChunkedJson


class Drop(Exception):
    """Close the connection without answering."""


class BadRequest(Exception):
    """The request body cannot be read as asked: answered 400 ``{"error": str(self)}``."""


class Request:
    """One request as an app sees it: method, path, query, headers and ways to read the body."""

    def __init__(self, handler: _Handler, method: str, path: str, query: dict[str, str]) -> None:
        self._handler = handler
        self.method = method
        self.path = path
        self.query = query
        self.headers = handler.headers

    def close_after(self) -> None:
        """Close the connection after the answer (the body is left unread)."""
        self._handler.close_connection = True

    def read_body(self, limit: int, *, drain_only: bool = False) -> bytes:
        return self._handler.read_body(limit, drain_only=drain_only)

    def drain(self) -> None:
        """Read and forget a body of up to :data:`JSON_LIMIT` bytes."""
        self._handler.read_body(JSON_LIMIT, drain_only=True)

    def read_form(self) -> dict[str, Any]:
        """A JSON or multipart/form-data body as a dict (both are accepted, contract §0)."""
        ctype = self.headers.get("Content-Type", "")
        body = self.read_body(JSON_LIMIT)
        if ctype.lower().startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
            )
            fields: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str):
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        fields[name] = payload.decode("utf-8", "replace")
            return fields
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise BadRequest("Request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("Request body must be a JSON object")
        return data

    def receive_file(self, dest: Path, limit: int, too_big: str) -> int:
        """Store the raw body in ``dest`` (streamed); a body over ``limit`` bytes is answered
        400 ``{"error": too_big}`` as soon as that is known (before reading when its
        Content-Length says so), the rest read and forgotten, and the connection closed."""
        return self._handler.receive_file(dest, limit, too_big)


App = Callable[[Request], Answer]


class _Pace:
    """Slows a transfer to ``bytes_per_s`` (a slow line), in small steps; 0 = full speed."""

    def __init__(self, bytes_per_s: float) -> None:
        self.rate = bytes_per_s
        self.chunk = CHUNK if bytes_per_s <= 0 else max(1024, min(CHUNK, int(bytes_per_s / 20)))

    def after(self, count: int) -> None:
        if self.rate > 0:
            time.sleep(count / self.rate)


class Server(ThreadingHTTPServer):
    """Serves ``app`` on a thread of its own; :meth:`stop` also ends open connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        on_request: Callable[[RequestRecord], None],
        bytes_per_s: Callable[[], float],
    ) -> None:
        self.app = app
        self.on_request = on_request
        self.bytes_per_s = bytes_per_s  # read per transfer: the pace of bodies and files
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__(address, _Handler)

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="kling-sim"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.close_connections()
        self.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conn_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    timeout = 60  # idle keep-alive connections end eventually
    status_sent = 0
    _record: RequestRecord | None = None
    _body_read = False

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.status_sent = 0
        self._body_read = False
        self._record = RequestRecord(method, parts.path, query, 0)
        try:
            answer = self.server.app(Request(self, method, parts.path, query))
            if isinstance(answer, FileReply):
                self._send_file(answer)
            elif isinstance(answer, ChunkedJson):
                self._send_huge_json(answer.size)
            else:
                self._answer(answer)
        except BadRequest as exc:
            self._answer(Reply(400, {"error": str(exc)}))
        except Drop:
            self.close_connection = True
            self._mark(0)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            log.exception("Simulator failed on %s %s", method, parts.path)
            if not self.status_sent:
                self._answer(Reply(500, {"error": "Internal simulator error"}))
            self.close_connection = True
        finally:
            self._mark(self.status_sent)

    def _mark(self, status: int) -> None:
        """Report the request with its status once, before the client can see the answer."""
        self.status_sent = status
        record, self._record = self._record, None
        if record is not None:
            self.server.on_request(RequestRecord(record.method, record.path, record.query, status))

    # -- answers ---------------------------------------------------------------------------

    def _answer(self, reply: Reply) -> None:
        if not self._body_read and int(self.headers.get("Content-Length") or 0) > 0:
            self.close_connection = True  # an unread body would poison the next request
        if reply.body is None:
            data = b""
            ctype = ""
        elif reply.text:
            data = str(reply.body).encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        else:
            data = json.dumps(reply.body).encode("utf-8")
            ctype = "application/json"
        self.send_response(reply.status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._mark(reply.status)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
            self.wfile.flush()

    def _send_file(self, reply: FileReply) -> None:
        size = reply.path.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(size))
        self._mark(200)
        self.end_headers()
        limit = size // 2 if reply.cut else size
        sent = 0
        pace = _Pace(self.server.bytes_per_s())
        with reply.path.open("rb") as fh:
            while sent < limit:
                chunk = fh.read(min(pace.chunk, limit - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
                pace.after(len(chunk))
        if reply.cut:
            self.wfile.flush()
            raise Drop()

    def _send_huge_json(self, size: int) -> None:
        """Answer from one reused buffer (the simulator's memory stays flat however big)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self._mark(200)
        self.end_headers()
        head, tail = b'{"history": [], "padding": "', b'"}'
        filler = b"x" * CHUNK
        self._send_chunk(head)
        left = max(0, size - len(head) - len(tail))
        while left:
            piece = filler if left >= len(filler) else filler[:left]
            self._send_chunk(piece)
            left -= len(piece)
        self._send_chunk(tail)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _send_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

    # -- bodies ----------------------------------------------------------------------------

    def _chunks(self, limit: int) -> Iterator[bytes]:
        """The request body in pieces, raw or chunked; stops past ``limit`` + 1 bytes."""
        self._body_read = True
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    piece = self.rfile.read(min(CHUNK, left))
                    if not piece:
                        raise ConnectionResetError("body ended early")
                    left -= len(piece)
                    total += len(piece)
                    yield piece
                    if total > limit:
                        self.close_connection = True
                        return
                self.rfile.readline(16)
        left = int(self.headers.get("Content-Length") or 0)
        pace = _Pace(self.server.bytes_per_s())
        while left:
            piece = self.rfile.read(min(pace.chunk, left))
            if not piece:
                raise ConnectionResetError("body ended early")
            left -= len(piece)
            pace.after(len(piece))
            yield piece

    def read_body(self, limit: int, *, drain_only: bool = False) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit and not drain_only:
            raise BadRequest("Request body is too large")
        data = bytearray()
        for piece in self._chunks(limit):
            if not drain_only:
                data += piece
            if len(data) > limit:
                raise BadRequest("Request body is too large")
        return bytes(data)

    def receive_file(self, dest: Path, limit: int, too_big: str) -> int:
        length = self.headers.get("Content-Length")
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        if not chunked and length is None:
            self.close_connection = True
            raise BadRequest("Content-Length is required")
        if not chunked and int(length or 0) > limit:
            self._refuse_body(too_big)  # before one byte is read
        size = 0
        try:
            with dest.open("wb") as out:
                for piece in self._chunks(limit):
                    size += len(piece)
                    if size > limit:
                        break
                    out.write(piece)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        if size > limit:
            dest.unlink(missing_ok=True)
            self._refuse_body(too_big, chunked_rest=chunked)
        return size

    def _refuse_body(self, error: str, *, chunked_rest: bool = False) -> None:
        """Answer 400 ``{"error": error}`` now, then read and forget the rest of the body (so
        the client, still sending, sees the answer rather than a reset) and hang up. Nothing
        of the body is kept: it streams past in pieces."""
        self._answer(Reply(400, {"error": error}))
        self.close_connection = True
        self.connection.settimeout(10)
        with contextlib.suppress(OSError):  # the client hung up, or went quiet for 10 s
            if chunked_rest:
                # _chunks stopped past the limit inside a chunk: drop what remains, raw.
                while self.rfile.read1(CHUNK):
                    pass
            else:
                for _ in self._chunks(int(self.headers.get("Content-Length") or 0)):
                    pass
        raise Drop()
