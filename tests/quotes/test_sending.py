"""Sending a quote: a real SMTP server (aiosmtpd) started by the test receives the message
with the PDF attached, in plain SMTP and with STARTTLS and a log-in; a server that cannot be
reached or refuses answers a problem and leaves no "sent" mark, no kept file, no password."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from oppflow.cli import app
from oppflow.config import get_settings
from oppflow.db import get_engine, session_factory
from oppflow.mail.smtp import parse_url
from tests.helpers import signed_in
from tests.quotes.sample_quote import make_quote, pdf_text

H = dict[str, str]
SECRET = "s3cret-Pa55"


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def use_smtp(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OPPFLOW_SMTP_URL", url)
    monkeypatch.setenv("OPPFLOW_MAIL_FROM", "sales@contoso.example")
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(monkeypatch, f"smtp://127.0.0.1:{controller.port}")
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    accepted = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"sales",
        SECRET.encode(),
    )
    return AuthResult(success=accepted, handled=False)


@pytest.fixture
def tls_inbox(monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]) -> Iterator[Inbox]:
    """A server that accepts mail only after STARTTLS and a log-in as sales / SECRET."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    url = f"smtp://sales:{SECRET}@127.0.0.1:{controller.port}?starttls=true&verify=false"
    use_smtp(monkeypatch, url)
    yield handler
    controller.stop()


def send(client: TestClient, headers: H, quote_id: str) -> Any:
    return client.post(f"/api/v1/quotes/{quote_id}/send", headers=headers)


def quote_now(client: TestClient, headers: H, quote_id: str) -> Any:
    return client.get(f"/api/v1/quotes/{quote_id}", headers=headers).json()


def files_of(client: TestClient, headers: H, quote: Any) -> list[Any]:
    answer = client.get(f"/api/v1/opportunities/{quote['opportunity_id']}/files", headers=headers)
    items: list[Any] = answer.json()["items"]
    return items


def assert_quote_arrived(inbox: Inbox, quote: Any, to: str) -> None:
    [(envelope, message)] = inbox.messages
    assert envelope.rcpt_tos == [to]
    assert message["To"] == to
    assert message["From"] == "sales@contoso.example"
    assert quote["quote_number"] in message["Subject"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{quote['quote_number']}-0.pdf"
    pdf = attachment.get_content()
    assert quote["quote_number"] in pdf_text(pdf)


def test_a_sent_quote_reaches_its_contact_with_the_pdf_and_is_marked_sent(
    client: TestClient, factory: sessionmaker[Session], inbox: Inbox
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="fr")

    answer = send(client, headers, quote["id"])
    assert answer.status_code == 200, answer.text
    assert_quote_arrived(inbox, quote, "jeanne.dupont@fabrikam.example")
    body = inbox.messages[0][1].get_body(("plain",))
    assert body is not None
    assert "Bonjour Jeanne Dupont" in body.get_content()
    sent = quote_now(client, headers, quote["id"])
    assert sent["sent_to"] == "jeanne.dupont@fabrikam.example"
    assert sent["sent_at"] is not None
    assert [f["name"] for f in files_of(client, headers, quote)] == [
        f"{quote['quote_number']}-0.pdf"
    ]


def test_starttls_and_a_log_in_deliver_it_too(
    client: TestClient, factory: sessionmaker[Session], tls_inbox: Inbox
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en", email="buyer@fabrikam.example")
    answer = send(client, headers, quote["id"])
    assert answer.status_code == 200, answer.text
    assert_quote_arrived(tls_inbox, quote, "buyer@fabrikam.example")


def assert_nothing_sent(client: TestClient, headers: H, quote: Any) -> None:
    now = quote_now(client, headers, quote["id"])
    assert now["sent_at"] is None
    assert now["sent_to"] is None
    assert now["version"] == quote["version"]
    assert files_of(client, headers, quote) == []


def test_a_wrong_password_is_a_502_that_names_no_password_and_marks_nothing(
    client: TestClient,
    factory: sessionmaker[Session],
    tls_inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en")
    url = get_settings().smtp_url.get_secret_value().replace(SECRET, "wrong-Pa55")
    use_smtp(monkeypatch, url)
    answer = send(client, headers, quote["id"])
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert "refused the log-in" in answer.json()["detail"]
    assert "Pa55" not in answer.text
    assert tls_inbox.messages == []
    assert_nothing_sent(client, headers, quote)


def test_an_unreachable_server_is_a_502_and_no_sent_mark(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en")
    use_smtp(monkeypatch, f"smtp://sales:{SECRET}@127.0.0.1:{free_port()}?timeout=2")
    answer = send(client, headers, quote["id"])
    assert answer.status_code == 502
    problem = answer.json()
    assert problem["title"] == "E-mail not sent"
    assert "cannot be reached" in problem["detail"]
    assert SECRET not in answer.text
    assert_nothing_sent(client, headers, quote)


def test_no_configured_server_is_a_503(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en")
    use_smtp(monkeypatch, "")
    answer = send(client, headers, quote["id"])
    assert answer.status_code == 503
    assert "OPPFLOW_SMTP_URL" in answer.json()["detail"]
    assert_nothing_sent(client, headers, quote)


def test_a_contact_without_an_address_or_a_closed_quote_is_refused(
    client: TestClient, factory: sessionmaker[Session], inbox: Inbox
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="en")
    path = f"/api/v1/quotes/{quote['id']}"
    assert client.patch(path, json={"contact_id": None}, headers=headers).is_success
    answer = send(client, headers, quote["id"])
    assert answer.status_code == 422
    assert answer.json()["field"] == "contact_id"
    closed = client.post(f"{path}/close", json={"status_reason": "canceled"}, headers=headers)
    assert closed.status_code == 200
    assert send(client, headers, quote["id"]).status_code in (409, 422)
    assert inbox.messages == []


def test_the_cli_writes_the_pdf_and_sends_or_says_why_not_in_one_line(
    client: TestClient,
    factory: sessionmaker[Session],
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    headers = signed_in(client, factory, roles=["sales-manager"])
    quote = make_quote(client, headers, language="fr")
    bind = factory.kw["bind"]
    if bind.dialect.name != "sqlite":
        pytest.skip("the CLI opens the test database by its URL: the SQLite file")
    monkeypatch.setenv("OPPFLOW_DATABASE_URL", bind.url.render_as_string(hide_password=False))
    caches = (get_settings, get_engine, session_factory)
    for cache in caches:
        cache.cache_clear()
    runner = CliRunner()
    target = tmp_path / "devis.pdf"

    written = runner.invoke(app, ["quote", "pdf", quote["id"], str(target), "--as", "alice"])
    assert written.exit_code == 0, written.output
    assert "15 924,00 €" in pdf_text(target.read_bytes())

    use_smtp(monkeypatch, f"smtp://127.0.0.1:{free_port()}")
    refused = runner.invoke(app, ["quote", "send", quote["id"], "--as", "alice"])
    get_engine().dispose()
    for cache in caches:
        cache.cache_clear()
    assert refused.exit_code == 1
    assert "cannot be reached" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert quote_now(client, headers, quote["id"])["sent_at"] is None


def test_the_url_keeps_its_password_out_of_sight() -> None:
    server = parse_url("smtps://me%40corp:p%3Ass@mail.example?timeout=3")
    assert (server.username, server.password, server.port) == ("me@corp", "p:ss", 465)
    assert server.implicit_tls
    assert "p:ss" not in repr(server)
