"""Email over SMTP (aiosmtplib): the provider for a real mail service, and what
`wallet dev` sends through to its local mail sink.

A recipient the server refuses for good (5xx) is `EmailRejected`, as with the sandbox;
a server that cannot be reached or answers "try later" (4xx) raises, so the job that
sent it is retried.
"""

from __future__ import annotations

import email.message
import email.utils
from dataclasses import dataclass

import aiosmtplib

from wallet.config import Settings
from wallet.notifications.email import EmailMessage, EmailRejected


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    # "tls" (implicit TLS), "starttls" (upgrade, required), "none" (plain: the dev sink).
    tls: str
    sender: str
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer:
        if not settings.notifications.smtp_host:
            raise RuntimeError("WALLET_EMAIL_PROVIDER=smtp needs WALLET_SMTP_HOST")
        return cls(
            host=settings.notifications.smtp_host,
            port=settings.notifications.smtp_port_or_default,
            tls=settings.notifications.smtp_tls,
            sender=settings.notifications.email_from,
            username=settings.notifications.smtp_username,
            password=settings.notifications.smtp_password,
            timeout_seconds=settings.notifications.smtp_timeout_seconds,
        )


class SmtpEmailProvider:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    def _compose(self, message: EmailMessage) -> email.message.EmailMessage:
        composed = email.message.EmailMessage()
        composed["From"] = self._server.sender
        composed["To"] = message.to
        composed["Subject"] = message.subject
        composed["Date"] = email.utils.formatdate(usegmt=True)
        domain = email.utils.parseaddr(self._server.sender)[1].rpartition("@")[2] or None
        composed["Message-ID"] = email.utils.make_msgid(domain=domain)
        composed.set_content(message.body)
        return composed

    async def send(self, message: EmailMessage) -> str:
        composed = self._compose(message)
        server = self._server
        try:
            await aiosmtplib.send(
                composed,
                hostname=server.host,
                port=server.port,
                use_tls=server.tls == "tls",
                # Required, not opportunistic: a server that cannot upgrade is an error.
                start_tls=server.tls == "starttls",
                username=server.username,
                password=server.password,
                timeout=server.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            reason = "; ".join(e.message for e in exc.recipients) or "refused"
            raise EmailRejected(message.to, reason) from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise EmailRejected(message.to, exc.message) from None
            raise
        return str(composed["Message-ID"])
