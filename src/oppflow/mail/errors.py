"""What goes wrong with e-mail: no server configured, or the server failed us. Neither message
names the password (nor the user name), only the server's host and port."""

from __future__ import annotations

from oppflow.errors import OppflowError


class MailNotConfigured(OppflowError):
    """``OPPFLOW_SMTP_URL`` is not set, or not a URL we can use."""

    status = 503
    title = "E-mail not configured"
    slug = "mail-not-configured"


class MailFailed(OppflowError):
    """The SMTP server could not be reached, refused us, or refused the message."""

    status = 502
    title = "E-mail not sent"
    slug = "mail-failed"
