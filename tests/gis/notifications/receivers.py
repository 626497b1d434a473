"""Real local receivers for the channel tests: an HTTP server and a minimal SMTP server.

Both listen on 127.0.0.1 on a free port, in a thread, and record what they received. The SMTP
server speaks just enough of RFC 5321 for smtplib (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP,
QUIT); the standard library has no SMTP server since Python 3.12.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class HttpReceiver:
    """Answers ``fail_first`` requests with 500, then 200 ``{"errcode": 0}``; ``delay`` seconds
    before each answer."""

    fail_first: int = 0
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                receiver.requests.append(Received(dict(self.headers.items()), body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                failing = len(receiver.requests) <= receiver.fail_first
                answer = {"errcode": 1, "errmsg": "busy"} if failing else {"errcode": 0}
                data = json.dumps(answer).encode()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?key=test"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nobody listens on (a receiver that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message


class SmtpReceiver:
    """A minimal SMTP server that keeps every message it accepts."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 localhost test SMTP")
                sender, recipients = "", []
                while raw := self.rfile.readline():
                    line = raw.decode().rstrip("\r\n")
                    verb = line[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-localhost")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 localhost")
                    elif verb == "MAIL":
                        sender, recipients = line.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(line.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with .")
                        data = b""
                        while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                            data += chunk[1:] if chunk.startswith(b"..") else chunk
                        receiver.mails.append(
                            Mail(
                                sender, recipients, message_from_bytes(data, policy=policy.default)
                            )
                        )
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:  # RSET, NOOP and the rest
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
