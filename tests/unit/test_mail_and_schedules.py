"""Scheduled reports sent through a real SMTP server on 127.0.0.1 (aiosmtpd, started here),
read back from the server: subject, body, the PDF. And every way a run can fail, in words."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import logging
import os
import socket
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pypdf import PdfReader

from desktop.paths import AppPaths
from desktop.services.kpi.alerts import AlertsService
from desktop.services.kpi.dashboards import DashboardsService
from desktop.services.kpi.library import FormulaLibrary
from desktop.services.kpi.reports import ReportsService, next_run, run_schedule
from desktop.services.mail import MailError, MailSettings, send_mail
from desktop.store.models import ReportSchedule
from tests.syncing import LIVE_KEY

USER, PASSWORD = "reports@example.com", "right horse battery"
CLOCK = dt.datetime.fromtimestamp(1_780_000_000, dt.UTC)  # the simulator's frozen clock


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@pytest.fixture
def smtp_server():
    """An SMTP server on 127.0.0.1 that asks for a login (over plain SMTP, as a local relay
    may); yields (inbox, port)."""
    # aiosmtpd warns that a login without TLS is unsafe: this server is the test's own.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


def mail_settings(port: int, **changes) -> MailSettings:
    base = MailSettings("127.0.0.1", port, "none", USER, "Ledgerboard <reports@example.com>")
    return MailSettings(**{**base.__dict__, **changes})


@pytest.fixture
def reports(app_paths: AppPaths, simulator, qapp):
    """A data folder synced from the simulator, the starter dashboard saved in it."""
    from desktop.app import create_qt_application
    from desktop.headless import sync_with_key
    from desktop.store.db import open_database
    from desktop.store.migrations import migrate

    sync_with_key(LIVE_KEY, app_paths, api_base=simulator.base_url)
    create_qt_application([])
    db = open_database(app_paths.database)
    migrate(db)
    library = FormulaLibrary(settings=lambda: ("UTC", 0))
    dashboards = DashboardsService(library, now=lambda: CLOCK)
    dashboard_id = dashboards.create_starter()
    yield ReportsService(dashboards, now=lambda: CLOCK), dashboard_id
    db.close()


def run(service, schedule_id, workspace, send):
    from desktop.views.report_render import draw_report

    alerts = AlertsService(FormulaLibrary())
    outcome = run_schedule(
        service,
        schedule_id,
        draw=draw_report,
        send=send,
        workspace=workspace,
        note=lambda kind, message, sid: alerts.note(kind, message, schedule_id=sid),
    )
    return outcome, alerts.firings()


def sender(settings: MailSettings, password: str):
    return lambda to, subject, body, files: send_mail(settings, password, to, subject, body, files)


def test_a_scheduled_report_arrives_by_mail_with_its_pdf_and_in_its_folder(
    reports, smtp_server, tmp_path
):
    service, dashboard_id = reports
    inbox, port = smtp_server
    folder = tmp_path / "Reports"
    folder.mkdir()
    schedule_id = service.create_schedule(
        dashboard_id,
        frequency="monthly",
        day_of_month=1,
        at_time="07:30",
        period="last_month",
        folder=str(folder),
        email_to=["boss@example.com", "cfo@example.com"],
    )
    outcome, firings = run(
        service, schedule_id, tmp_path / "work", sender(mail_settings(port), PASSWORD)
    )
    assert outcome.ok, outcome.message
    (message,) = inbox.messages
    assert message["Subject"] == "Stripe overview: Previous month: 1 Apr 2026 – 30 Apr 2026"
    assert set(inbox.envelopes[0].rcpt_tos) == {"boss@example.com", "cfo@example.com"}
    assert message["From"] == "Ledgerboard <reports@example.com>"
    body = message.get_body(("plain",)).get_content()
    assert "Time zone: UTC" in body and "Data last synced" in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    name = attachment.get_filename()
    assert name.startswith("Stripe overview - Previous month - ") and name.endswith(".pdf")
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    assert "Stripe overview" in " ".join(pdf.pages[0].extract_text().split())
    assert (folder / name).read_bytes() == attachment.get_content()
    assert [f.kind for f in firings] == ["report_sent"]
    schedule = ReportSchedule.get_by_id(schedule_id)
    assert schedule.last_status == "sent"
    assert schedule.next_run_at == dt.datetime(2026, 7, 1, 7, 30)  # the June run was this one
    assert not list((tmp_path / "work").iterdir())  # nothing left behind


def test_a_wrong_password_is_said_in_words_and_the_file_is_still_saved(
    reports, smtp_server, tmp_path, expected_log_warnings
):
    service, dashboard_id = reports
    inbox, port = smtp_server
    schedule_id = service.create_schedule(
        dashboard_id, folder=str(tmp_path), email_to=["boss@example.com"], period="this_month"
    )
    before = ReportSchedule.get_by_id(schedule_id).next_run_at
    outcome, firings = run(
        service, schedule_id, tmp_path / "work", sender(mail_settings(port), "wrong")
    )
    assert not outcome.ok
    assert "refused the user name or password (535" in outcome.message
    assert "It was saved to" in outcome.message
    assert inbox.messages == []
    assert [(f.kind, f.message) for f in firings] == [("report_failed", outcome.message)]
    assert len(outcome.files) == 1 and outcome.files[0].exists()
    schedule = ReportSchedule.get_by_id(schedule_id)
    assert schedule.last_status == "failed" and schedule.next_run_at > before


def test_unreachable_server_gone_folder_and_deleted_dashboard_each_say_why(
    reports, smtp_server, tmp_path, expected_log_warnings
):
    service, dashboard_id = reports
    inbox, port = smtp_server
    closed = free_port()
    schedule_id = service.create_schedule(
        dashboard_id, email_to=["boss@example.com"], format="csv", period="this_month"
    )
    outcome, _ = run(service, schedule_id, tmp_path / "w", sender(mail_settings(closed), PASSWORD))
    assert f"The mail server 127.0.0.1:{closed} cannot be reached" in outcome.message

    gone = tmp_path / "gone"
    gone.mkdir()
    schedule_id = service.create_schedule(
        dashboard_id, folder=str(gone), email_to=["boss@example.com"], period="this_month"
    )
    gone.rmdir()
    outcome, _ = run(service, schedule_id, tmp_path / "w", sender(mail_settings(port), PASSWORD))
    assert f"The folder {gone} does not exist any more" in outcome.message
    assert "e-mailed to boss@example.com" in outcome.message  # the rest still happened
    assert len(inbox.messages) == 1

    service.dashboards.delete(dashboard_id)
    outcome, firings = run(
        service, schedule_id, tmp_path / "w", sender(mail_settings(port), PASSWORD)
    )
    assert "The dashboard 'Stripe overview' was deleted" in outcome.message
    assert [f.kind for f in firings] == ["report_failed"] * 3
    assert ReportSchedule.get_by_id(schedule_id).next_run_at is not None  # it keeps its runs


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_said_in_words(reports, tmp_path, expected_log_warnings):
    service, dashboard_id = reports
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    schedule_id = service.create_schedule(dashboard_id, folder=str(folder), format="csv")
    try:
        outcome, _ = run(service, schedule_id, tmp_path / "w", None)
    finally:
        folder.chmod(0o700)
    assert f"The folder {folder} is read-only" in outcome.message


def test_starttls_with_a_certificate_the_client_trusts(tmp_path, expected_log_warnings):
    """The usual set-up of a company mail server: port 587, STARTTLS, then the login. (The
    server logs the handshake the untrusting client breaks off.)"""
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        tls_context=server_context,
        require_starttls=True,
    )
    controller.start()
    try:
        settings = mail_settings(port, security="starttls")
        trusted = ssl.create_default_context(cafile=str(cert))
        send_mail(settings, PASSWORD, ["a@example.com"], "Hello", "Body", context=trusted)
        with pytest.raises(MailError, match="certificate that cannot be trusted"):
            send_mail(settings, PASSWORD, ["a@example.com"], "Hello", "Body")
    finally:
        controller.stop()
    assert [m["Subject"] for m in inbox.messages] == ["Hello"]


def self_signed(folder: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_next_run_counts_in_the_users_time_zone():
    schedule = ReportSchedule(frequency="weekly", weekday=0, at_time="08:00")
    after = dt.datetime(2026, 3, 25, 12, 0, tzinfo=dt.UTC)  # a Wednesday, before DST starts
    # Monday 30 March 08:00 in Copenhagen is summer time already: 06:00 UTC.
    assert next_run(schedule, after, "Europe/Copenhagen") == dt.datetime(2026, 3, 30, 6, 0)
    daily = ReportSchedule(frequency="daily", at_time="23:30")
    assert next_run(daily, after, "UTC") == dt.datetime(2026, 3, 25, 23, 30)


def test_the_report_command_mails_the_report_with_the_password_from_the_keychain(
    app_paths, simulator, smtp_server, tmp_path, qapp, capsys
):
    """`report --email` as cron runs it (in this process, for this test's keychain)."""
    from desktop.__main__ import main
    from desktop.headless import sync_with_key
    from desktop.services.secrets import SecretStore
    from desktop.settings import Settings, SettingsStore

    inbox, port = smtp_server
    sync_with_key(LIVE_KEY, app_paths, api_base=simulator.base_url)
    SettingsStore(app_paths.settings_file).save(
        Settings(
            time_zone="UTC",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            smtp_username=USER,
            smtp_sender="reports@example.com",
        )
    )
    SecretStore().put("smtp", {"password": PASSWORD})
    output = tmp_path / "monday.pdf"
    args = ["report", "--template", "stripe-overview", "--period", "2026-05-01..2026-05-31"]
    args += ["--output", str(output), "--data-dir", str(app_paths.data_dir)]
    assert main([*args, "--email", "boss@example.com"]) == 0, capsys.readouterr().err
    (message,) = inbox.messages
    assert message["Subject"] == "Stripe overview: 1 May 2026 – 31 May 2026"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "monday.pdf"
    assert attachment.get_content() == output.read_bytes()

    SecretStore().put("smtp", {"password": "stale"})
    assert main([*args, "--email", "boss@example.com"]) == 3
    assert "not e-mailed: The mail server 127.0.0.1" in capsys.readouterr().err
