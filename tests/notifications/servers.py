"""Real receivers for the delivery tests: an SMTP server (aiosmtpd) and an HTTP robot (http.server),
both on loopback, each recording what it received."""

import json
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """An aiosmtpd handler: accepts mail, refuses recipients it is told to refuse."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # address → SMTP reply, e.g. "550 5.1.1 no such user"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


class Robot:
    """A group robot on loopback. `replies` is consumed one per request (then `default`):
    a status code, or (status, JSON answer), or a callable returning one (it may block).
    Until `up()` the port is bound but not listening, so a connection is refused."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: list[Any] = []
        self.default: Any = 200
        # check(path, json) → a reply that overrides the queued one (a robot's signature check),
        # or None to let it stand.
        self.check: Any = None
        self.lock = threading.Lock()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length).decode())
                with robot.lock:
                    robot.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": body}
                    )
                    reply = robot.replies.pop(0) if robot.replies else robot.default
                    if robot.check is not None:
                        reply = robot.check(self.path, body) or reply
                if callable(reply):
                    reply = reply()
                status, answer = reply if isinstance(reply, tuple) else (reply, None)
                if answer is None:
                    answer = {"errcode": 0, "errmsg": "ok"} if status == 200 else {"error": "down"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/cgi-bin/webhook/send?key=test"
        self.thread: threading.Thread | None = None

    def up(self) -> None:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def keys(self) -> list[str]:
        return [r["headers"]["X-Closeloop-Idempotency-Key"] for r in self.requests]

    def close(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()
