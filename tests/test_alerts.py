"""Alerts: real SMTP and HTTP servers on loopback, real Dagster runs and sensor evaluations.

Nothing of the transport is mocked: an aiosmtpd server receives the e-mails (plain, and with
STARTTLS and a login against a self-signed certificate trusted through SSL_CERT_FILE), a
ThreadingHTTPServer the webhook POSTs, and the sensors read the event log of runs executed
on a real (temporary, SQLite) Dagster instance.
"""

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipelines.alert_sensors import LATE_FEED_ALERT, RUN_FAILURE_ALERT, alert_sensors
from pipelines.alerts import NO_CHANNEL, Alert, AlertConfigError, AlertDeliveryError, AlertSettings, send

ALERT_VARS = (
    "IOM_ALERT_SMTP",
    "IOM_ALERT_SMTP_USER",
    "IOM_ALERT_SMTP_PASSWORD",
    "IOM_ALERT_EMAIL_FROM",
    "IOM_ALERT_EMAIL_TO",
    "IOM_ALERT_WEBHOOK",
    "IOM_UI_URL",
)
UI = "http://dagster.hub.example:3000"
WEBHOOK_PATH = "/hooks/T000/B000/s3cr3t-token"

# What a step's error might say about a person: never in an alert.
PERSONAL = ("Siobhán", "Ó Briain", "1990-01-31", "2012/0394773H", "LS6 2AB")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def alert_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ALERT_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IOM_UI_URL", UI + "/")
    return monkeypatch


# --------------------------------------------------------------------------- servers


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))  # type: ignore[arg-type]
        return "250 Message accepted"


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    logins: list[tuple[str, str]] = field(default_factory=list)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages


@pytest.fixture
def smtp_server(alert_env: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        alert_env.setenv("IOM_ALERT_SMTP", f"smtp://127.0.0.1:{controller.port}")
        alert_env.setenv("IOM_ALERT_EMAIL_FROM", "iom-hub@hub.example")
        alert_env.setenv("IOM_ALERT_EMAIL_TO", "duty.officer@hub.example, analyst@hub.example")
        yield SmtpServer(controller.port, inbox)
    finally:
        controller.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


@pytest.fixture
def starttls_server(alert_env: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SmtpServer]:
    """A server that insists on STARTTLS and a login (user hub, password 'pa ss')."""
    cert_file, key_file = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    server = SmtpServer(0, inbox)

    def authenticator(_server, _session, _envelope, _mechanism, auth_data) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        server.logins.append((login, password))
        return AuthResult(success=(login, password) == ("hub", "pa ss"))

    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    server.port = controller.port
    try:
        alert_env.setenv("SSL_CERT_FILE", str(cert_file))  # the client trusts the test certificate, as a system CA
        alert_env.setenv("IOM_ALERT_SMTP", f"smtp+starttls://127.0.0.1:{controller.port}")
        alert_env.setenv("IOM_ALERT_SMTP_USER", "hub")
        alert_env.setenv("IOM_ALERT_SMTP_PASSWORD", "pa ss")
        alert_env.setenv("IOM_ALERT_EMAIL_FROM", "iom-hub@hub.example")
        alert_env.setenv("IOM_ALERT_EMAIL_TO", "duty.officer@hub.example")
        yield server
    finally:
        controller.stop()


@dataclass
class WebhookServer:
    port: int
    received: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook_server(alert_env: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    state = WebhookServer(0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.paths.append(self.path)
            state.content_types.append(self.headers["Content-Type"])
            state.received.append(json.loads(body))
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format, *args) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        alert_env.setenv("IOM_ALERT_WEBHOOK", f"http://127.0.0.1:{state.port}{WEBHOOK_PATH}")
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def body(message: EmailMessage) -> str:
    return message.get_content()


ALERT = Alert(
    kind="run_failure",
    subject="IOM hub: run daily_pipeline for 2026-11-23 FAILED",
    lines=("Failed steps (1): ingest__arrests",),
    link=f"{UI}/runs/abc-123",
    run_id="abc-123",
    fields={"job": "daily_pipeline"},
)


# --------------------------------------------------------------------------- channels


def test_email_arrives_with_subject_and_link(smtp_server: SmtpServer) -> None:
    settings = AlertSettings.from_env()
    assert settings.ui_url == UI and settings.channels == ["email"]
    assert send(ALERT, settings) == ["email"]
    [message] = smtp_server.messages
    assert message["Subject"] == ALERT.subject
    assert message["From"] == "iom-hub@hub.example"
    assert smtp_server.inbox.envelopes == [("iom-hub@hub.example", ["duty.officer@hub.example", "analyst@hub.example"])]
    assert message["Auto-Submitted"] == "auto-generated"
    assert "Failed steps (1): ingest__arrests" in body(message)
    assert f"{UI}/runs/abc-123" in body(message)


def test_email_with_starttls_and_login(starttls_server: SmtpServer) -> None:
    assert send(ALERT, AlertSettings.from_env()) == ["email"]
    assert starttls_server.logins == [("hub", "pa ss")]
    [message] = starttls_server.messages
    assert message["Subject"] == ALERT.subject


def test_starttls_certificate_not_trusted(starttls_server: SmtpServer, alert_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    other, _ = self_signed_certificate(tmp_path / "other")  # another CA: the server's certificate is not trusted
    alert_env.setenv("SSL_CERT_FILE", str(other))
    with pytest.raises(AlertDeliveryError) as raised:
        send(ALERT, AlertSettings.from_env())
    assert str(raised.value).startswith(f"alert e-mail via SMTP server 127.0.0.1:{starttls_server.port} failed: TLS certificate")
    assert "pa ss" not in str(raised.value) and starttls_server.logins == [] and starttls_server.messages == []


def test_starttls_not_offered(smtp_server: SmtpServer, alert_env: pytest.MonkeyPatch) -> None:
    alert_env.setenv("IOM_ALERT_SMTP", f"smtp+starttls://127.0.0.1:{smtp_server.port}")
    with pytest.raises(
        AlertDeliveryError, match=r"^alert e-mail via SMTP server 127\.0\.0\.1:\d+ failed: the server does not offer STARTTLS$"
    ):
        send(ALERT, AlertSettings.from_env())
    assert smtp_server.messages == []


def test_webhook_receives_json(webhook_server: WebhookServer) -> None:
    settings = AlertSettings.from_env()
    assert settings.channels == ["webhook"]
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in settings.describe()
    assert send(ALERT, settings) == ["webhook"]
    assert webhook_server.paths == [WEBHOOK_PATH]
    assert webhook_server.content_types == ["application/json; charset=utf-8"]
    [payload] = webhook_server.received
    assert payload == {
        "kind": "run_failure",
        "subject": ALERT.subject,
        "text": f"{ALERT.subject}\n\nFailed steps (1): ingest__arrests\n\n{UI}/runs/abc-123",
        "lines": ["Failed steps (1): ingest__arrests"],
        "link": f"{UI}/runs/abc-123",
        "run_id": "abc-123",
        "job": "daily_pipeline",
    }


def test_both_channels(smtp_server: SmtpServer, webhook_server: WebhookServer) -> None:
    assert send(ALERT, AlertSettings.from_env()) == ["email", "webhook"]
    assert len(smtp_server.messages) == 1 and len(webhook_server.received) == 1


def test_no_channel() -> None:
    settings = AlertSettings.from_env()
    assert settings.channels == [] and send(ALERT, settings) == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"IOM_ALERT_SMTP": "foo"}, "IOM_ALERT_SMTP: 'foo' is not smtp://host:port or smtp+starttls://host:port"),
        ({"IOM_ALERT_SMTP": "smtps://mail.example:465"}, "IOM_ALERT_SMTP: 'smtps://mail.example:465' is not smtp://host:port"),
        ({"IOM_ALERT_SMTP": "smtp://mail.example:port"}, "IOM_ALERT_SMTP: 'smtp://mail.example:port' is not smtp://host:port"),
        ({"IOM_ALERT_SMTP": "smtp://mail.example:99999"}, "IOM_ALERT_SMTP: 'smtp://mail.example:99999' is not smtp://host:port"),
        ({"IOM_ALERT_SMTP": "smtp://:25"}, "IOM_ALERT_SMTP: 'smtp://:25' is not smtp://host:port"),
        ({"IOM_ALERT_SMTP": "smtp://hub:s3cr3t@mail.example:25"}, "IOM_ALERT_SMTP: put no credentials in the URL"),
        ({"IOM_ALERT_SMTP": "smtp://mail.example:25"}, "IOM_ALERT_EMAIL_TO: required when IOM_ALERT_SMTP is set"),
        (
            {"IOM_ALERT_SMTP": "smtp://mail.example", "IOM_ALERT_EMAIL_TO": "duty officer"},
            "IOM_ALERT_EMAIL_TO: 'duty officer' is not an e-mail address",
        ),
        (
            {"IOM_ALERT_SMTP": "smtp://mail.example", "IOM_ALERT_EMAIL_TO": "a@hub.example", "IOM_ALERT_EMAIL_FROM": "hub"},
            "IOM_ALERT_EMAIL_FROM: 'hub' is not an e-mail address",
        ),
        (
            {
                "IOM_ALERT_SMTP": "smtp+starttls://mail.example",
                "IOM_ALERT_EMAIL_TO": "a@hub.example",
                "IOM_ALERT_SMTP_USER": "hub",
            },
            "IOM_ALERT_SMTP_PASSWORD: required when the other of IOM_ALERT_SMTP_USER / IOM_ALERT_SMTP_PASSWORD is set",
        ),
        (
            {
                "IOM_ALERT_SMTP": "smtp://mail.example",
                "IOM_ALERT_EMAIL_TO": "a@hub.example",
                "IOM_ALERT_SMTP_USER": "hub",
                "IOM_ALERT_SMTP_PASSWORD": "s3cr3t",
            },
            "IOM_ALERT_SMTP_USER: a login needs IOM_ALERT_SMTP=smtp+starttls://host:port",
        ),
        (
            {"IOM_ALERT_WEBHOOK": "ftp://hooks.example/s3cr3t"},
            "IOM_ALERT_WEBHOOK: the value (not shown: it may hold a token) is not an http:// or https:// URL",
        ),
        (
            {"IOM_ALERT_WEBHOOK": "hooks.example/s3cr3t"},
            "IOM_ALERT_WEBHOOK: the value (not shown: it may hold a token) is not an http:// or https:// URL",
        ),
        ({"IOM_UI_URL": "dagster.hub.example:3000"}, "IOM_UI_URL: 'dagster.hub.example:3000' is not an http:// or https:// URL"),
    ],
)
def test_misconfiguration_is_one_plain_line(alert_env: pytest.MonkeyPatch, variables: dict[str, str], message: str) -> None:
    for name, value in variables.items():
        alert_env.setenv(name, value)
    with pytest.raises(AlertConfigError) as raised:
        AlertSettings.from_env()
    text = str(raised.value)
    assert text.startswith(message) and "\n" not in text
    assert "s3cr3t" not in text


def test_delivery_to_closed_ports_names_channel_and_address(alert_env: pytest.MonkeyPatch) -> None:
    smtp_port, http_port = free_port(), free_port()  # nothing listens there now
    alert_env.setenv("IOM_ALERT_SMTP", f"smtp://127.0.0.1:{smtp_port}")
    alert_env.setenv("IOM_ALERT_EMAIL_TO", "duty.officer@hub.example")
    alert_env.setenv("IOM_ALERT_WEBHOOK", f"http://127.0.0.1:{http_port}{WEBHOOK_PATH}")
    with pytest.raises(AlertDeliveryError) as raised:
        send(ALERT, AlertSettings.from_env())
    assert raised.value.delivered == []
    assert raised.value.failures == {
        "email": f"alert e-mail via SMTP server 127.0.0.1:{smtp_port} failed: connection refused",
        "webhook": f"alert webhook POST to 127.0.0.1:{http_port} failed: connection refused",
    }
    assert str(raised.value) == "; ".join(raised.value.failures.values())
    assert "s3cr3t" not in str(raised.value)


def test_webhook_error_status_and_partial_delivery(smtp_server: SmtpServer, webhook_server: WebhookServer) -> None:
    webhook_server.status = 500
    with pytest.raises(AlertDeliveryError) as raised:
        send(ALERT, AlertSettings.from_env())
    assert str(raised.value) == (
        f"alert webhook POST to 127.0.0.1:{webhook_server.port} failed: HTTP 500 Internal Server Error (delivered by email)"
    )
    assert raised.value.delivered == ["email"] and len(smtp_server.messages) == 1


# --------------------------------------------------------------------------- sensors

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-11-01")
D = "2026-11-23"


@dg.asset(key=["ingest", "cohort"], partitions_def=PARTITIONS)
def broken_cohort() -> None:
    raise ValueError("could not read row for Siobhán Ó Briain, born 1990-01-31, PNC 2012/0394773H, LS6 2AB")


def on_time_result(context: dg.AssetExecutionContext, status: str, providers: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="on_time",
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "status": status,
            "report_date": context.partition_key,
            "detail": "no file dated the report date or the day before",
            "providers_missing": providers,
        },
    )


@dg.asset(
    key=["ledger", "arrests"],
    partitions_def=PARTITIONS,
    check_specs=[dg.AssetCheckSpec("on_time", asset=["ledger", "arrests"])],
)
def arrests_ledger(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[on_time_result(context, "MISSING", "")])


@dg.asset(
    key=["ledger", "court_results"],
    partitions_def=PARTITIONS,
    check_specs=[
        dg.AssetCheckSpec("on_time", asset=["ledger", "court_results"]),
        dg.AssetCheckSpec("rows_reconcile", asset=["ledger", "court_results"], blocking=True),
    ],
)
def court_results_ledger(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            on_time_result(context, "PARTIAL", "B13HT, B13HX"),
            dg.AssetCheckResult(check_name="rows_reconcile", passed=False, metadata={"note": "Siobhán Ó Briain"}),
        ]
    )


DEFS = dg.Definitions(
    assets=[broken_cohort, arrests_ledger, court_results_ledger],
    jobs=[
        dg.define_asset_job("broken_job", selection=[broken_cohort]),
        dg.define_asset_job("late_job", selection=[arrests_ledger]),
        dg.define_asset_job("late_failing_job", selection=[court_results_ledger]),
        dg.define_asset_job("unmonitored_job", selection=[arrests_ledger]),
    ],
)
MONITORED = ["broken_job", "late_job", "late_failing_job"]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A persistent instance on SQLite (run-sharded event log), as DAGSTER_HOME has by default."""
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def memory_instance() -> dg.DagsterInstance:
    """In memory: quicker, for the run failure sensor called directly on one run."""
    return dg.DagsterInstance.ephemeral()


def run(instance: dg.DagsterInstance, job: str, partition: str = D) -> dg.ExecuteInProcessResult:
    return DEFS.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition, raise_on_error=False)


def sensors(job_names: list[str] = MONITORED) -> tuple[dg.SensorDefinition, dg.SensorDefinition]:
    by_name = {s.name: s for s in alert_sensors(job_names)}
    return by_name[RUN_FAILURE_ALERT], by_name[LATE_FEED_ALERT]


def failure_context(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> dg.RunStatusSensorContext:
    return dg.build_run_status_sensor_context(
        sensor_name=RUN_FAILURE_ALERT,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    )


def no_personal_data(text: str) -> None:
    for fragment in PERSONAL:
        assert fragment not in text
    assert "no file dated" not in text  # a check's free text is not copied either


def test_sensors_are_running_by_default() -> None:
    failure, late = sensors()
    assert failure.default_status == late.default_status == dg.DefaultSensorStatus.RUNNING


def test_run_failure_alert(memory_instance: dg.DagsterInstance, smtp_server: SmtpServer, webhook_server: WebhookServer) -> None:
    failure, _ = sensors()
    result = run(memory_instance, "broken_job")
    assert not result.success
    run_id = result.run_id
    assert failure(failure_context(memory_instance, result)) is None  # sent
    [message] = smtp_server.messages
    [payload] = webhook_server.received
    assert message["Subject"] == payload["subject"] == f"IOM hub: run broken_job for {D} FAILED"
    text = body(message)
    assert f"{UI}/runs/{run_id}" in text and payload["link"] == f"{UI}/runs/{run_id}"
    assert "Failed steps (1): ingest__cohort" in text
    assert payload["kind"] == "run_failure" and payload["run_id"] == run_id
    assert payload["failed_steps"] == ["ingest__cohort"] and payload["failed_checks"] == []
    assert payload["job"] == "broken_job" and payload["partition"] == D
    no_personal_data(text)
    no_personal_data(json.dumps(payload, ensure_ascii=False))


def test_run_failure_alert_names_failed_blocking_checks(
    memory_instance: dg.DagsterInstance, smtp_server: SmtpServer, webhook_server: WebhookServer
) -> None:
    failure, _ = sensors()
    result = run(memory_instance, "late_failing_job")
    assert not result.success
    assert failure(failure_context(memory_instance, result)) is None
    [payload] = webhook_server.received
    assert payload["failed_steps"] == ["ledger__court_results"]
    assert payload["failed_checks"] == ["rows_reconcile on ledger/court_results"]  # not the warning on_time check
    assert "Failed blocking checks (1): rows_reconcile on ledger/court_results" in body(smtp_server.messages[0])
    no_personal_data(json.dumps(payload, ensure_ascii=False))


def test_run_failure_alert_skips_unmonitored_jobs_and_without_channel(memory_instance: dg.DagsterInstance) -> None:
    result = run(memory_instance, "broken_job")
    failure, _ = sensors(["late_job"])
    skipped = failure(failure_context(memory_instance, result))
    assert isinstance(skipped, dg.SkipReason) and "not a monitored job" in (skipped.skip_message or "")
    failure, _ = sensors()
    skipped = failure(failure_context(memory_instance, result))
    assert isinstance(skipped, dg.SkipReason) and skipped.skip_message == NO_CHANNEL
    assert NO_CHANNEL == "no alert channel configured (IOM_ALERT_SMTP, IOM_ALERT_WEBHOOK unset)"


def test_run_failure_alert_once_per_run_through_dagster_cursor(
    instance: dg.DagsterInstance, smtp_server: SmtpServer, webhook_server: WebhookServer
) -> None:
    """As the daemon evaluates it: ticks with Dagster's own cursor alert once per failed run.

    The sensor lives in a repository while the runs, like those of `iom-hub run`
    (execute_in_process), have no code location origin: they are alerted all the same.
    """
    failure, _ = sensors()

    def tick(cursor: str | None) -> dg.SensorEvaluationContext:
        return dg.build_sensor_context(instance=instance, cursor=cursor, repository_name="__repository__")

    first = failure.evaluate_tick(tick(None))  # starts after the newest failure
    run(instance, "broken_job")
    run(instance, "late_job")  # succeeds: no run failure alert
    second = failure.evaluate_tick(tick(first.cursor))
    third = failure.evaluate_tick(tick(second.cursor))
    assert len(smtp_server.messages) == len(webhook_server.received) == 1
    assert third.cursor == second.cursor and not third.dagster_run_reactions


def test_late_feed_alert_once_per_feed_date_and_status(
    instance: dg.DagsterInstance, smtp_server: SmtpServer, webhook_server: WebhookServer
) -> None:
    _, late = sensors()
    late_run = run(instance, "late_job")
    failing_run = run(instance, "late_failing_job")  # a failed run still tells about its late feed
    assert late_run.success and not failing_run.success
    run(instance, "unmonitored_job", "2026-11-20")

    first = late(dg.build_sensor_context(instance=instance))
    assert isinstance(first, dg.SensorResult) and first.skip_reason is None
    [message] = smtp_server.messages
    [payload] = webhook_server.received
    assert (
        message["Subject"]
        == payload["subject"]
        == f"IOM hub: 2 feeds not on time for {D}: arrests MISSING, court_results PARTIAL"
    )
    assert payload["kind"] == "late_feed" and payload["run_id"] is None  # two runs
    assert payload["link"] == f"{UI}/assets/ledger"
    assert payload["feeds"] == [
        {
            "feed": "arrests",
            "status": "MISSING",
            "report_date": D,
            "providers_missing": [],
            "link": f"{UI}/assets/ledger/arrests",
            "run_id": late_run.run_id,
            "job": "late_job",
        },
        {
            "feed": "court_results",
            "status": "PARTIAL",
            "report_date": D,
            "providers_missing": ["B13HT", "B13HX"],
            "link": f"{UI}/assets/ledger/court_results",
            "run_id": failing_run.run_id,
            "job": "late_failing_job",
        },
    ]
    text = body(message)
    assert f"arrests: MISSING for report date {D} - {UI}/assets/ledger/arrests" in text
    assert (
        f"court_results: PARTIAL for report date {D}; providers missing: B13HT, B13HX - {UI}/assets/ledger/court_results" in text
    )
    assert f"{UI}/runs/{late_run.run_id}" in text
    assert "2026-11-20" not in text  # the unmonitored job's run
    no_personal_data(text)
    no_personal_data(json.dumps(payload, ensure_ascii=False))

    # Nothing new since: nothing sent.
    second = late(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert second.skip_reason is not None and len(smtp_server.messages) == len(webhook_server.received) == 1

    # A re-run finding the same (feed, report date, status): nothing sent, but the cursor moves on.
    run(instance, "late_job")
    third = late(dg.build_sensor_context(instance=instance, cursor=second.cursor))
    assert "1 already alerted" in (third.skip_reason.skip_message or "")
    assert len(smtp_server.messages) == len(webhook_server.received) == 1
    assert json.loads(third.cursor)["after"] > json.loads(second.cursor)["after"]

    # Another report date is news.
    next_day = run(instance, "late_job", "2026-11-24")
    fourth = late(dg.build_sensor_context(instance=instance, cursor=third.cursor))
    assert fourth.skip_reason is None and len(smtp_server.messages) == len(webhook_server.received) == 2
    assert webhook_server.received[-1]["subject"] == "IOM hub: feed arrests MISSING for 2026-11-24"
    assert webhook_server.received[-1]["run_id"] == next_day.run_id
    assert webhook_server.received[-1]["link"] == f"{UI}/assets/ledger/arrests"
    assert sorted(map(tuple, json.loads(fourth.cursor)["alerted"])) == [
        ("arrests", D, "MISSING"),
        ("arrests", "2026-11-24", "MISSING"),
        ("court_results", D, "PARTIAL"),
    ]


def test_late_feed_alert_without_channel_and_failed_delivery(instance: dg.DagsterInstance, alert_env: pytest.MonkeyPatch) -> None:
    _, late = sensors()
    run(instance, "late_job")
    skipped = late(dg.build_sensor_context(instance=instance))
    assert skipped.skip_reason.skip_message == NO_CHANNEL

    # Delivery fails everywhere: the tick fails with a plain message and keeps its cursor, to try again.
    run(instance, "late_job", "2026-11-24")
    port = free_port()
    alert_env.setenv("IOM_ALERT_WEBHOOK", f"http://127.0.0.1:{port}/hook")
    with pytest.raises(AlertDeliveryError, match=rf"^alert webhook POST to 127\.0\.0\.1:{port} failed: connection refused$"):
        late(dg.build_sensor_context(instance=instance, cursor=skipped.cursor))


def test_late_feed_alert_misconfigured_fails_the_tick(memory_instance: dg.DagsterInstance, alert_env: pytest.MonkeyPatch) -> None:
    _, late = sensors()
    alert_env.setenv("IOM_ALERT_SMTP", "foo")
    with pytest.raises(AlertConfigError, match="^IOM_ALERT_SMTP: 'foo' is not smtp://host:port"):
        late(dg.build_sensor_context(instance=memory_instance))
