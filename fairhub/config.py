"""The one Settings object: the only place that reads the environment (FAIRHUB_*)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything FairHub can be told; read once at start-up and passed down."""

    model_config = SettingsConfigDict(env_prefix="FAIRHUB_", extra="ignore")

    # Unset URLs mean "start embedded servers under data_dir" (fairhub dev only).
    database_url: str | None = None
    # A replica for reads that may lag a little (dashboards' feeds, reports); unset: the primary.
    database_read_url: str | None = None
    # redis://host:port/0 for one server, redis+cluster://h1:p1,h2:p2 for a Redis/Valkey Cluster.
    redis_url: str | None = None
    # Fairs are spread over this many partitions (a stream and a hash tag each). Fixed when the
    # Redis data is first created: a process told another number refuses to start.
    partitions: int = Field(default=64, ge=1, le=16384)
    data_dir: Path = Path(".fairhub")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    admin_token: str | None = None
    # Seals badge-signing private keys at rest (AES-GCM; fairhub/masterkey.py). Unset: the
    # key `fairhub dev` keeps in data_dir; `fairhub serve` refuses to start without one.
    secret_key: SecretStr | None = None
    # Résumé files are purged this often by the worker (each fair sets how long it keeps them).
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    log_level: str = "INFO"
    # Where phones reach FairHub: QR codes of employers and positions open pages under it.
    # Unset: the address the request came in on.
    public_url: str | None = None

    # Ingest.
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=500, ge=1)
    # How long an event id is remembered at the gateway to answer "duplicate" at once;
    # the worker's unique (fair, id) key is what makes counting exact regardless.
    dedupe_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    # Durability wait: WAITAOF numlocal numreplicas. Production with replicas: 0 and 1.
    waitaof_local: int = Field(default=1, ge=0)
    waitaof_replicas: int = Field(default=0, ge=0)
    # Flushes in flight at once, and the events one flush carries at most.
    writer_flushes: int = Field(default=4, ge=1)
    writer_flush_events: int = Field(default=2000, ge=1)
    durability_timeout_ms: int = Field(default=2000, ge=10)
    redis_timeout_seconds: float = Field(default=3.0, gt=0)
    retry_after_seconds: int = Field(default=2, ge=1)
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    resume_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Hostile bodies: pages without a login (viewers, seekers' phones) send small JSON; a body
    # still arriving after its time is cut (a 1 byte / 2 s trickle holds a connection forever).
    public_body_bytes: int = Field(default=8 * 1024, ge=512)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    upload_timeout_seconds: float = Field(default=30.0, gt=0)

    # Times in reports and printed pages (the dashboard shows the browser's own time).
    timezone: str = "Asia/Shanghai"

    # Dashboards (GET …/stats/stream): at most one Postgres read per interval per fair and
    # gateway, whatever the number of open dashboards; a beat keeps proxies from closing it.
    stats_stream_interval_seconds: float = Field(default=0.25, gt=0)
    stats_stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stats_stream_refresh_seconds: float = Field(default=5.0, gt=0)
    stats_stream_linger_seconds: float = Field(default=30.0, ge=0)

    # Livestreams: a viewer silent this long has left; viewer pages beat this often; workers
    # store a sample of each live session's audience this often (one row per minute).
    live_presence_seconds: float = Field(default=60.0, gt=0)
    live_beat_seconds: float = Field(default=30.0, gt=0)
    live_sample_seconds: float = Field(default=15.0, gt=0)

    # Seekers on their phones: sign-up codes (one-time, short, expiring, few attempts), their
    # limits per phone and per client address, and how long a phone stays signed in.
    signup_code_seconds: int = Field(default=600, ge=1)
    signup_code_attempts: int = Field(default=5, ge=1)
    signup_code_interval_seconds: int = Field(default=60, ge=0)
    signup_codes_per_phone_hour: int = Field(default=5, ge=1)
    signup_codes_per_address_hour: int = Field(default=60, ge=1)
    signups_per_address_hour: int = Field(default=300, ge=1)
    seeker_session_days: int = Field(default=180, ge=1)
    # Where sign-up codes go: "log" (printed in the gateway's log: fairhub dev, or an operator
    # reading them out), "webhook" (POST {phone, text} as JSON to sms_webhook_url, where an SMS
    # provider's adapter listens), or "package.module:factory" called with these settings.
    sms_sender: str = "log"
    sms_webhook_url: str | None = None

    # Public traffic (no login: viewer pages, phone pages, sign-up). Each limit is a token
    # bucket: up to N at once, refilled at N per period, per client address or per viewer or
    # seeker; past it a 429 with Retry-After, and the try is counted as throttled, not as a
    # figure. A campus or a carrier NAT puts thousands of phones behind one address: the
    # per-address limits are generous, the per-viewer and per-seeker ones are not.
    live_new_viewers_per_address: int = Field(default=100, ge=1)
    live_new_viewers_seconds: float = Field(default=10.0, gt=0)
    live_joins_per_viewer: int = Field(default=10, ge=1)
    live_joins_seconds: float = Field(default=600.0, gt=0)
    live_questions_per_viewer: int = Field(default=5, ge=1)
    live_questions_per_address: int = Field(default=200, ge=1)
    live_questions_seconds: float = Field(default=60.0, gt=0)
    page_landings_per_address: int = Field(default=6000, ge=1)
    page_landings_seconds: float = Field(default=60.0, gt=0)
    resumes_per_seeker: int = Field(default=20, ge=1)
    resumes_seconds: float = Field(default=3600.0, gt=0)
    # Kiosk enrolment: a printed code is good this long, and one address may try this many
    # codes per window (a code has 60 random bits; the limit keeps guessing pointless).
    enrolment_minutes: float = Field(default=15.0, gt=0)
    enrol_tries_per_address: int = Field(default=20, ge=1)
    enrol_tries_seconds: float = Field(default=60.0, gt=0)
    # Viewer ids are issued by the server and signed with this key (HMAC-SHA256), so a script
    # cannot invent viewers. Unset: generated once and kept in the data dir (every gateway of
    # one deployment must share it: set it when gateways do not share a data dir).
    viewer_secret: str | None = None
    # Proxies whose X-Forwarded-For / X-Real-IP name the client (addresses or networks,
    # comma-separated, e.g. "127.0.0.1,10.0.0.0/8"). Unset: the socket's peer is the client,
    # and those headers are ignored (anyone could write them).
    trusted_proxies: str = ""

    # Workers.
    worker_batch_size: int = Field(default=2500, ge=1)
    worker_block_ms: int = Field(default=1000, ge=1)
    # After a short batch (the stream nearly drained), wait this long before reading again, so
    # the next transaction carries what arrived meanwhile instead of a handful of events: at
    # the gate's pace a read found ~12 scans, and each batch's fixed costs (read, transaction,
    # acknowledgement) were most of what a scan cost the worker and Postgres. Counting is
    # delayed by at most this much.
    worker_linger_ms: int = Field(default=25, ge=0)
    # Transactions at once; each partition reads one batch more, decoded ahead, so Postgres
    # never waits for the worker (a third at once only adds waits on shared counter rows).
    worker_batches_in_flight: int = Field(default=2, ge=1)
    worker_max_attempts: int = Field(default=5, ge=1)
    worker_claim_idle_ms: int = Field(default=60_000, ge=1)
    # A worker owns partitions through leases it renews; a dead worker's lapse after this long
    # and the others take its partitions over (with whatever it left pending).
    worker_lease_seconds: float = Field(default=10.0, gt=0)
    # A worker beats at least every third of this; one silent this long is dead, and the others
    # take its partitions and pending entries over at once instead of waiting for its leases.
    worker_dead_seconds: float = Field(default=3.0, gt=0)
    # Prometheus metrics of a worker on this port (0: none); several processes: port, port+1...
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_grace_seconds: float = Field(default=10.0, ge=0)
    # Fault injection for the crash tests: sleep between COMMIT and XACK.
    worker_ack_delay_seconds: float = Field(default=0.0, ge=0)

    # /readyz says "degraded" (503) when no worker has been alive for this long (counted from
    # the gateway's start at most), or when an event has waited this long to be counted.
    ready_worker_silence_seconds: float = Field(default=30.0, gt=0)
    ready_max_lag_seconds: float = Field(default=60.0, gt=0)

    db_pool_min: int = Field(default=1, ge=0)
    db_pool_max: int = Field(default=10, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or network: {part!r}") from exc
        return value

    def resolved_viewer_secret(self) -> str:
        """The viewer-id key: configured, or generated once and kept in the data dir.

        Several gateway processes may start at once on one data dir: the first to link its
        file in place wins and the others read that one, so all sign alike.
        """
        if self.viewer_secret:
            return self.viewer_secret
        path = self.data_dir / "viewer_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            draft = path.with_name(f".viewer_secret.{secrets.token_hex(8)}")
            draft.write_text(secrets.token_urlsafe(32) + "\n")
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
            draft.unlink()
        return path.read_text().strip()

    def resolved_admin_token(self) -> str:
        """The admin token: configured, or generated once and kept in the data dir."""
        if self.admin_token:
            return self.admin_token
        path = self.data_dir / "admin_token"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token = "fh_admin_" + secrets.token_urlsafe(32)
        path.write_text(token + "\n")
        path.chmod(0o600)
        return token


class KioskSettings(BaseSettings):
    """The kiosk program's own knobs (FAIRHUB_KIOSK_*): it runs on a kiosk, not a server."""

    model_config = SettingsConfigDict(env_prefix="FAIRHUB_KIOSK_", extra="ignore")

    # The person in front waits this long for the gateway's verdict before the kiosk decides.
    timeout_seconds: float = Field(default=1.5, gt=0)
    # One batch upload of the queue (up to batch_size scans) may take this long.
    upload_timeout_seconds: float = Field(default=10.0, gt=0)
    batch_size: int = Field(default=200, ge=1, le=500)
    # Retries of the link back off from min to max (full jitter below the current step).
    retry_min_seconds: float = Field(default=0.5, gt=0)
    retry_max_seconds: float = Field(default=15.0, gt=0)
    # The same code again within this window is one scan (staff tapped twice).
    repeat_seconds: float = Field(default=2.0, ge=0)
    # Plain mode prints a status line at least this often.
    status_seconds: float = Field(default=10.0, gt=0)
    # Public keys are re-read this often while online (a rotated or retired key).
    keys_refresh_seconds: float = Field(default=600.0, gt=0)
    # Fault injection for the crash test: sleep after a scan is queued, before it is sent.
    send_delay_seconds: float = Field(default=0.0, ge=0)
    # The kiosk tells the gateway its queue length this often (the organizer's devices page).
    beat_seconds: float = Field(default=15.0, gt=0)
