"""Alerts to the hub's staff: an e-mail, a webhook POST, both or neither.

Configured from the environment, read when an alert is about to be sent (never at import):

``IOM_ALERT_SMTP``
    The mail server, ``smtp://host:port`` (plain SMTP, e.g. a relay on the hub's network;
    port 25 when left out) or ``smtp+starttls://host:port`` (SMTP upgraded to TLS with
    STARTTLS, the server's certificate verified against the system's CAs; port 587 when
    left out).  Unset or empty: no e-mail.
``IOM_ALERT_SMTP_USER``, ``IOM_ALERT_SMTP_PASSWORD``
    Optional SMTP login (both or neither; only with ``smtp+starttls://``, so a password is
    never sent unencrypted).  The password is a secret: environment only, never logged.
``IOM_ALERT_EMAIL_FROM``
    The sender address (default ``iom-hub@<this host's name>``).
``IOM_ALERT_EMAIL_TO``
    Comma-separated recipient addresses; required when ``IOM_ALERT_SMTP`` is set.
``IOM_ALERT_WEBHOOK``
    An ``http://`` or ``https://`` URL that receives each alert as a JSON POST, e.g. a
    Slack- or Teams-style incoming webhook.  Such URLs carry a secret token, so messages
    name only its host and port.  Unset or empty: no webhook.
``IOM_UI_URL``
    The Dagster UI's base URL, for links in alerts (default ``http://127.0.0.1:3000``):
    runs as ``<IOM_UI_URL>/runs/<run_id>``, assets as ``<IOM_UI_URL>/assets/<key path>``.

The webhook body is one JSON object: ``subject``, ``text`` (the whole message as plain
text: subject, lines, link, so a chat webhook that shows only ``text`` shows everything),
``lines`` (a list), ``link``, ``kind`` (``run_failure``, ``late_feed``), ``run_id`` (or
null) and any structured fields of the alert (e.g. ``job``, ``failed_steps``, ``feeds``).

Alerts carry no personal data: the sensors that build them put in only run ids, job and
step names, check and feed names, statuses, dates of reports, counts and links; never the
text of a step's error (it may quote a record).  See ``pipelines/alert_sensors.py``.

The standard library does the sending (smtplib, email.message, urllib.request): one
message and one POST need no third-party client, which keeps the packages a hub holding
criminal-offence data must vet to those it already has.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 10
DEFAULT_UI_URL = "http://127.0.0.1:3000"

EMAIL = "email"
WEBHOOK = "webhook"

SMTP_PORTS = {"smtp": 25, "smtp+starttls": 587}


class AlertConfigError(ValueError):
    """A setting is not usable; the message is one line naming it."""


class AlertDeliveryError(RuntimeError):
    """One or more channels could not deliver; the message names each with its host:port.

    ``delivered`` lists the channels that did deliver, ``failures`` maps each failed channel
    to its one-line reason.
    """

    def __init__(self, failures: Mapping[str, str], delivered: list[str]) -> None:
        self.failures = dict(failures)
        self.delivered = list(delivered)
        message = "; ".join(self.failures.values())
        if delivered:
            message += f" (delivered by {', '.join(delivered)})"
        super().__init__(message)


@dataclass(frozen=True)
class Alert:
    """One alert.  ``lines`` are the body, one fact a line; ``link`` the page to open.

    ``fields`` are structured values for the webhook's JSON (job name, step keys, feeds...):
    the same facts as ``lines``, never anything else.
    """

    kind: str
    subject: str
    lines: tuple[str, ...]
    link: str
    run_id: str | None = None
    fields: Mapping[str, object] = field(default_factory=dict)

    def text(self) -> str:
        return "\n".join([self.subject, "", *self.lines, "", self.link])

    def payload(self) -> dict[str, object]:
        return {
            **self.fields,
            "kind": self.kind,
            "subject": self.subject,
            "text": self.text(),
            "lines": list(self.lines),
            "link": self.link,
            "run_id": self.run_id,
        }


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)  # holds the webhook's secret token
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class AlertSettings:
    smtp: SmtpSettings | None
    webhook: WebhookSettings | None
    ui_url: str = DEFAULT_UI_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AlertSettings:
        """Read the settings; raises AlertConfigError naming the first unusable one."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str:
            return env.get(name, "").strip()

        return cls(
            smtp=_smtp_settings(get, lambda name: env.get(name, "")) if get("IOM_ALERT_SMTP") else None,
            webhook=_webhook_settings(get("IOM_ALERT_WEBHOOK")) if get("IOM_ALERT_WEBHOOK") else None,
            ui_url=_ui_url(get("IOM_UI_URL") or DEFAULT_UI_URL),
        )

    @property
    def channels(self) -> list[str]:
        return [name for name, setting in ((EMAIL, self.smtp), (WEBHOOK, self.webhook)) if setting is not None]

    def describe(self) -> str:
        """The configured channels, for logs: addresses and counts, no secrets."""
        parts = []
        if self.smtp is not None:
            parts.append(f"email via {self.smtp.address} to {len(self.smtp.recipients)} recipient(s)")
        if self.webhook is not None:
            parts.append(f"webhook at {self.webhook.address}")
        return ", ".join(parts) or "no channel"

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url}/runs/{run_id}"

    def asset_link(self, *path: str) -> str:
        return f"{self.ui_url}/assets/{'/'.join(path)}"


NO_CHANNEL = "no alert channel configured (IOM_ALERT_SMTP, IOM_ALERT_WEBHOOK unset)"


# --------------------------------------------------------------------------- settings


def _shown(value: str, secret: bool = False) -> str:
    """A setting's value for an error message, unless it might hold a credential."""
    return "the value (not shown: it may hold a token)" if secret or "@" in value else repr(value)


def _host_port(name: str, value: str, schemes: Mapping[str, int], form: str, secret: bool = False) -> tuple[str, str, int]:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise AlertConfigError(f"{name}: {_shown(value, secret)} is not {form}") from None
    scheme = parts.scheme.lower()
    if scheme not in schemes or not parts.hostname:
        raise AlertConfigError(f"{name}: {_shown(value, secret)} is not {form}")
    if parts.username is not None or parts.password is not None:
        raise AlertConfigError(f"{name}: put no credentials in the URL")
    return scheme, parts.hostname, port or schemes[scheme]


def _address(name: str, value: str) -> str:
    _, address = parseaddr(value)
    if not address or address != value or "@" not in address or any(c.isspace() for c in address):
        raise AlertConfigError(f"{name}: {value!r} is not an e-mail address")
    return address


def _smtp_settings(get: Callable[[str], str], raw: Callable[[str], str]) -> SmtpSettings:
    value = get("IOM_ALERT_SMTP")
    scheme, host, port = _host_port("IOM_ALERT_SMTP", value, SMTP_PORTS, "smtp://host:port or smtp+starttls://host:port")
    if urlsplit(value).path not in ("", "/") or urlsplit(value).query:
        raise AlertConfigError(f"IOM_ALERT_SMTP: {_shown(value)} is not smtp://host:port (no path or query)")
    starttls = scheme == "smtp+starttls"
    recipients_raw = get("IOM_ALERT_EMAIL_TO")
    if not recipients_raw:
        raise AlertConfigError("IOM_ALERT_EMAIL_TO: required when IOM_ALERT_SMTP is set (comma-separated addresses)")
    recipients = tuple(_address("IOM_ALERT_EMAIL_TO", item.strip()) for item in recipients_raw.split(",") if item.strip())
    if not recipients:
        raise AlertConfigError("IOM_ALERT_EMAIL_TO: no address given")
    sender = _address("IOM_ALERT_EMAIL_FROM", get("IOM_ALERT_EMAIL_FROM") or f"iom-hub@{socket.getfqdn()}")
    user, password = get("IOM_ALERT_SMTP_USER"), raw("IOM_ALERT_SMTP_PASSWORD")  # a password may have spaces
    if bool(user) != bool(password):
        missing = "IOM_ALERT_SMTP_PASSWORD" if user else "IOM_ALERT_SMTP_USER"
        raise AlertConfigError(f"{missing}: required when the other of IOM_ALERT_SMTP_USER / IOM_ALERT_SMTP_PASSWORD is set")
    if user and not starttls:
        raise AlertConfigError(
            "IOM_ALERT_SMTP_USER: a login needs IOM_ALERT_SMTP=smtp+starttls://host:port (no password is sent unencrypted)"
        )
    return SmtpSettings(host, port, starttls, sender, recipients, user or None, password or None)


def _webhook_settings(value: str) -> WebhookSettings:
    _, host, port = _host_port("IOM_ALERT_WEBHOOK", value, {"http": 80, "https": 443}, "an http:// or https:// URL", secret=True)
    return WebhookSettings(value, host, port)


def ui_url(environ: Mapping[str, str] | None = None) -> str:
    """The Dagster UI's address for links (IOM_UI_URL); the default when unset or unusable
    (the alert settings' check says what is wrong with it)."""
    value = (os.environ if environ is None else environ).get("IOM_UI_URL") or DEFAULT_UI_URL
    try:
        return _ui_url(value)
    except AlertConfigError:
        return DEFAULT_UI_URL


def _ui_url(value: str) -> str:
    _host_port("IOM_UI_URL", value, {"http": 80, "https": 443}, "an http:// or https:// URL")
    return value.rstrip("/")


# --------------------------------------------------------------------------- delivery


def send(alert: Alert, settings: AlertSettings) -> list[str]:
    """Deliver ``alert`` through every configured channel; returns those that delivered.

    Every channel is tried; if any fails, AlertDeliveryError names each failure (channel
    and host:port) and lists the channels that did deliver.
    """
    delivered: list[str] = []
    failures: dict[str, str] = {}
    channels = ((EMAIL, settings.smtp, _send_email), (WEBHOOK, settings.webhook, _post_webhook))
    for name, target, deliver in channels:
        if target is None:
            continue
        try:
            deliver(alert, target)  # type: ignore[operator]
            delivered.append(name)
        except AlertDeliveryError as exc:
            failures.update(exc.failures)
    if failures:
        raise AlertDeliveryError(failures, delivered)
    return delivered


def _network_reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {TIMEOUT_SECONDS} s"
    if isinstance(exc, socket.gaierror):
        return "host name not found"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, ConnectionError):
        return "connection dropped"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"recipient(s) refused: {', '.join(sorted(exc.recipients))}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"sender {exc.sender} refused ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the server does not offer STARTTLS" if "STARTTLS" in str(exc) else f"not supported by the server: {exc}"
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"server answered {exc.smtp_code} {error.strip()}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "the server closed the connection"
    if isinstance(exc, smtplib.SMTPException):
        return str(exc) or type(exc).__name__
    return _network_reason(exc)


def email_message(alert: Alert, smtp: SmtpSettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content("\n".join([*alert.lines, "", alert.link, ""]))
    return message


def _send_email(alert: Alert, smtp: SmtpSettings) -> None:
    where = f"alert e-mail via SMTP server {smtp.address}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.user is not None and smtp.password is not None:
                client.login(smtp.user, smtp.password)
            client.send_message(email_message(alert, smtp))
    except (smtplib.SMTPException, OSError) as exc:
        raise AlertDeliveryError({EMAIL: f"{where} failed: {_smtp_reason(exc)}"}, []) from None


def _post_webhook(alert: Alert, webhook: WebhookSettings) -> None:
    where = f"alert webhook POST to {webhook.address}"
    request = urllib.request.Request(
        webhook.url,
        data=json.dumps(alert.payload()).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": "iom-hub-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
            status = response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        raise AlertDeliveryError({WEBHOOK: f"{where} failed: HTTP {exc.code} {exc.reason}"}, []) from None
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
        raise AlertDeliveryError({WEBHOOK: f"{where} failed: {_network_reason(reason)}"}, []) from None
    except OSError as exc:
        raise AlertDeliveryError({WEBHOOK: f"{where} failed: {_network_reason(exc)}"}, []) from None
    if not 200 <= status < 300:
        raise AlertDeliveryError({WEBHOOK: f"{where} failed: HTTP {status}"}, [])
