"""A real SMTP server for the tests: aiosmtpd on 127.0.0.1, optionally STARTTLS and AUTH."""

from __future__ import annotations

import socket
import ssl
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Inbox:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []   # (mail from, rcpt tos, bytes)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def parsed(self):
        return [message_from_bytes(m, policy=policy.default) for _, _, m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    """`with SMTPServer() as smtp:` — smtp.port, smtp.inbox."""

    def __init__(self, tls_context: ssl.SSLContext | None = None, users: dict[str, str] | None = None,
                 port: int | None = None):
        self.inbox, self.port = Inbox(), port or free_port()
        kwargs = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if users is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and \
                    users.get(auth_data.login.decode()) == auth_data.password.decode()
                return AuthResult(success=ok, handled=False)  # let the server answer 535
            kwargs.update(authenticator=authenticate, auth_required=True,
                          auth_require_tls=tls_context is not None)
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
