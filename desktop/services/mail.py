"""E-mail through the user's own SMTP server: reports and alerts. No Qt.

The server, port, security and user name are settings; the password lives in the keyring
(entry `smtp`) and nowhere else. Every failure the user can fix (a server that cannot be
reached, a refused password, a certificate that does not match) becomes a MailError whose
message says so in words.
"""

from __future__ import annotations

import mimetypes
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

SECRET_ENTRY = "smtp"
SECURITY = {"starttls": "STARTTLS", "ssl": "TLS from the start (SSL)", "none": "None"}


class MailError(Exception):
    """Mail that could not be sent; the message is for the user."""


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls, ssl, none
    username: str = ""
    sender: str = ""
    timeout: float = 20.0

    @property
    def configured(self) -> bool:
        return bool(self.host.strip() and (self.sender or self.username))

    @property
    def from_address(self) -> str:
        return self.sender or self.username

    @classmethod
    def of(cls, settings) -> MailSettings:
        """From the user's Settings (desktop.settings)."""
        return cls(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_security,
            settings.smtp_username,
            settings.smtp_sender,
        )


def build_message(
    settings: MailSettings,
    to: list[str],
    subject: str,
    body: str,
    attachments: list[Path] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.from_address
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    domain = settings.from_address.rpartition("@")[2] or "ledgerboard.local"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    for path in attachments:
        kind, _ = mimetypes.guess_type(path.name)
        main, _, sub = (kind or "application/octet-stream").partition("/")
        message.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
    return message


def send_mail(
    settings: MailSettings,
    password: str | None,
    to: list[str],
    subject: str,
    body: str,
    attachments: list[Path] = (),
    *,
    context: ssl.SSLContext | None = None,
) -> None:
    """Send one message; MailError says in words what went wrong."""
    if not settings.configured:
        raise MailError(
            "E-mail is not set up: give the SMTP server and the sender's address in Settings."
        )
    recipients = [r.strip() for r in to if r and r.strip()]
    if not recipients:
        raise MailError("No recipient: give at least one e-mail address.")
    message = build_message(settings, recipients, subject, body, list(attachments))
    where = f"{settings.host}:{settings.port}"
    context = context or ssl.create_default_context()
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise MailError(
                        f"The mail server {where} does not offer STARTTLS; choose TLS from "
                        "the start (port 465) or ask its administrator."
                    )
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, password or "")
            client.send_message(message, to_addrs=recipients)
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"The mail server {where} refused the user name or password "
            f"({_reply(exc.smtp_code, exc.smtp_error)}). Check them in Settings."
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise MailError(
            f"The mail server {where} does not accept a login on this connection; "
            "choose STARTTLS or TLS from the start."
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        raise MailError(f"The mail server {where} refused the recipient(s) {refused}.") from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"The mail server {where} refused the sender {exc.sender} "
            f"({_reply(exc.smtp_code, exc.smtp_error)})."
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(
            f"The mail server {where} answered {_reply(exc.smtp_code, exc.smtp_error)}."
        ) from None
    except smtplib.SMTPServerDisconnected:
        raise MailError(f"The mail server {where} closed the connection unexpectedly.") from None
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"The mail server {where} has a certificate that cannot be trusted "
            f"({exc.verify_message})."
        ) from None
    except ssl.SSLError as exc:
        raise MailError(
            f"A secure connection to the mail server {where} failed ({exc.reason or exc}); "
            "check the port and the security setting."
        ) from None
    except socket.gaierror:
        raise MailError(
            f"The mail server {settings.host} cannot be found: check its name."
        ) from None
    except TimeoutError:
        raise MailError(f"The mail server {where} did not answer in time.") from None
    except ConnectionRefusedError:
        raise MailError(
            f"The mail server {where} cannot be reached: the connection was refused."
        ) from None
    except OSError as exc:
        raise MailError(
            f"The mail server {where} cannot be reached: {exc.strerror or exc}."
        ) from None


def _reply(code, error) -> str:
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{code} {text}".strip()
