"""Sending a message through an SMTP server, named by a URL.

``smtp://user:pass@host:587?starttls=true`` upgrades the connection with STARTTLS before
logging in; ``smtps://…`` (port 465 by default) is TLS from the first byte; ``smtp://host:25``
sends without either. ``timeout`` (seconds, 10 by default) bounds every network wait. A
server's certificate is checked against the system's authorities unless ``?verify=false``
(for a server on the same host with a self-signed certificate).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from oppflow.config import get_settings
from oppflow.mail.errors import MailFailed, MailNotConfigured

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to send; ``repr`` never shows the password."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    verify: bool = True

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_url(url: str) -> SmtpServer:
    """The server a URL names; MailNotConfigured (without the URL, which may hold a password)
    when it names none."""
    parts = urlsplit(url.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise MailNotConfigured("OPPFLOW_SMTP_URL must be smtp://… or smtps://… with a host.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        timeout = float(query.get("timeout", "10"))
    except ValueError:
        raise MailNotConfigured("OPPFLOW_SMTP_URL has a bad port or timeout.") from None
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=parts.scheme == "smtps",
        starttls=query.get("starttls", "false").lower() in TRUE,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
        verify=query.get("verify", "true").lower() in TRUE,
    )


def configured_server() -> SmtpServer:
    """The server of ``OPPFLOW_SMTP_URL``; MailNotConfigured (503) when it is not set."""
    url = get_settings().smtp_url.get_secret_value()
    if not url:
        raise MailNotConfigured("No e-mail server: set OPPFLOW_SMTP_URL to send quotes.")
    return parse_url(url)


def send(server: SmtpServer, message: EmailMessage) -> None:
    """Hand ``message`` to ``server``; MailFailed (502) naming only the server's address when
    it cannot be reached, will not log us in, or refuses the message."""
    try:
        with _connect(server) as client:
            _secure_and_log_in(server, client)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailFailed(f"The e-mail server {server.address} refused the log-in.") from None
    except smtplib.SMTPRecipientsRefused:
        raise MailFailed(f"The e-mail server {server.address} refused the recipient.") from None
    except (smtplib.SMTPException, ssl.SSLError) as error:
        reason = type(error).__name__
        raise MailFailed(f"The e-mail server {server.address} failed ({reason}).") from None
    except OSError:  # refused, unreachable, timed out, unknown host
        raise MailFailed(f"The e-mail server {server.address} cannot be reached.") from None


def _connect(server: SmtpServer) -> smtplib.SMTP:
    if server.implicit_tls:
        return smtplib.SMTP_SSL(
            server.host, server.port, timeout=server.timeout, context=_tls(server)
        )
    return smtplib.SMTP(server.host, server.port, timeout=server.timeout)


def _secure_and_log_in(server: SmtpServer, client: smtplib.SMTP) -> None:
    if server.starttls:
        client.starttls(context=_tls(server))
    if server.username is not None:
        client.login(server.username, server.password or "")


def _tls(server: SmtpServer) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not server.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
