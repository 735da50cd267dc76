"""The settings model: one pydantic model per part of the appliance, limits and meaning in ``Field``.

Every setting has one *flat name*, used alike as the TOML key, as ``APPLIANCE_<FLAT NAME>`` in the
environment and as ``--flat-name`` on the command line: the section's prefix plus the field name,
unless the field names its own (``json_schema_extra={"flat": ...}``). This module imports nothing
heavy (no OpenCV, no numpy), so ``appliance --version`` and ``appliance config`` start at once.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo

from .errors import SettingError

Backend = Literal["auto", "tf", "tflite"]
EnhanceMode = Literal["auto", "off", "stretch", "clahe", "gamma"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

BACKENDS: tuple[str, ...] = get_args(Backend)
ENHANCE_MODES: tuple[str, ...] = get_args(EnhanceMode)
MIN_FACE_FLOOR = 12.0  # MTCNN's smallest window: no face below it can be found without upscaling


class Section(BaseModel):
    """One part's settings. ``commands`` says which ``appliance`` commands take its flags."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    prefix: ClassVar[str] = ""
    commands: ClassVar[tuple[str, ...]] = ()


class ExtractSettings(Section):
    """What the pipeline does with each frame: detection, crops, enhancement."""

    commands = ("extract", "serve", "worker", "eval", "search")
    backend: Backend = Field("auto", description="net runner: tflite if LiteRT and the models are installed, else tf")
    fps: float | None = Field(
        5.0, gt=0, description="analysed frames per second, or `all` (every frame)", json_schema_extra={"none": "all"}
    )
    min_face: float = Field(20.0, ge=MIN_FACE_FLOOR, description="smallest face looked for, in source pixels")
    margin: float = Field(0.2, ge=0, le=2, description="crop margin, a fraction of the face box on each side")
    all_crops: bool = Field(False, description="also write every detection under `all/`")
    aligned: bool = Field(False, description="also write 112x112 crops aligned on the landmarks under `aligned/`")
    threads: int = Field(
        2,
        ge=1,
        le=64,
        description="inference threads per worker: net calls run at once (a frame's pyramid split between them); "
        "2 suits one worker on 2 cores",
    )
    enhance: EnhanceMode = Field(
        "auto", description="low-light enhancement: `auto` (dark frames only), `off`, `stretch`, `clahe`, `gamma`"
    )
    upscale: float = Field(
        1.0, ge=1, le=4, description="> 1: also find faces down to `min_face / upscale` px, on an enlarged frame"
    )
    max_frame_pixels: int = Field(
        36_000_000, ge=1, description="inputs with larger frames are refused (8K is 33 million pixels)"
    )

    @field_validator("fps", mode="before")
    @classmethod
    def _all_frames(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip().lower() == "all" else value


class MotionSettings(Section):
    """Motion gating: still frames skip detection, moving regions are searched alone."""

    prefix = "motion_"
    commands = ("extract", "serve", "worker")
    enabled: bool = Field(
        True, description="motion gating (off: detection on every analysed frame)", json_schema_extra={"flat": "motion"}
    )
    full_every_s: float = Field(
        3.0, gt=0, description="while people are tracked, a full-frame pass at least this often"
    )
    refresh_s: float = Field(30.0, gt=0, description="a full-frame pass at least this often, whatever moves")
    busy_full_every_s: float = Field(
        1.0,
        ge=0,
        description="with motion nearly everywhere and people tracked, a full-frame pass this often; between "
        "passes tracked faces are looked for where predicted (0: every analysed frame searched whole)",
    )


class ScanSettings(Section):
    """The activity scan: find where something happens from the compressed stream, decode only there."""

    prefix = "scan_"
    commands = ("extract", "serve", "worker")
    enabled: bool = Field(
        True, description="scan videos before decoding; off: decode every frame", json_schema_extra={"flat": "scan"}
    )
    keyframe_s: float = Field(
        8.0, gt=0, description="in still stretches, a keyframe is decoded and compared at most this often"
    )
    refresh_s: float = Field(600.0, gt=0, description="in still stretches, a full-frame detection at least this often")


class PeopleSettings(Section):
    """People, not tracks: face embeddings group the tracks of one person, within and across recordings."""

    prefix = "people_"
    commands = ("extract", "serve", "worker", "eval", "people", "search")
    enabled: bool = Field(
        True,
        description="group tracks into people with face embeddings (SFace); off: no embedding is computed or kept",
        json_schema_extra={"flat": "people"},
    )
    threshold: float = Field(
        0.38,
        ge=-1,
        le=1,
        description="cosine similarity at which two faces are taken for the same person "
        "(chosen on data: docs/people.md)",
    )
    shots: int = Field(3, ge=1, le=10, description="best shots of a track whose embeddings are averaged")
    recluster_s: float = Field(
        3600.0, gt=0, description="the people index is re-grouped (with the corrections kept) at most this often"
    )


PersonEvents = Literal["all", "new", "watched", "off"]


class EventsSettings(Section):
    """Events out: MQTT (with Home Assistant discovery) and webhooks, delivered at least once."""

    commands = ("serve",)
    mqtt: SecretStr | None = Field(
        None,
        description="MQTT broker, `mqtt://user:pass@host:1883/prefix` (TLS: `mqtts://`); events go to "
        "`<prefix>/events` (default prefix `appliance`)",
    )
    mqtt_discovery: str = Field(
        "homeassistant", description="Home Assistant's MQTT discovery prefix (empty: no discovery)"
    )
    webhooks: list[SecretStr] = Field(
        default_factory=list,
        description="URLs every event is POSTed to (comma-separated); secret: they often carry credentials",
    )
    webhook_secret: SecretStr | None = Field(
        None, description="key of the `X-Appliance-Signature` HMAC-SHA256 over each webhook body"
    )
    public_url: str = Field("", description="the page's address as receivers reach it, to make links absolute")
    person_events: PersonEvents = Field(
        "all", description="`person.seen` for everyone, only `new` people, only `watched` ones, or `off`"
    )
    events_kept: int = Field(10_000, ge=100, description="events waiting for delivery; past this the oldest go")

    @field_validator("mqtt", "webhook_secret", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @field_validator("webhooks")
    @classmethod
    def _http(cls, value: list[SecretStr]) -> list[SecretStr]:
        for number, url in enumerate(value, start=1):
            if not url.get_secret_value().startswith(("http://", "https://")):
                raise ValueError(f"webhook {number} of {len(value)} is not an http(s) URL (not shown: a secret)")
        return value

    @field_validator("mqtt")
    @classmethod
    def _broker(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("mqtt://", "mqtts://")):
            raise ValueError("must be mqtt://[user:pass@]host[:port][/prefix] or mqtts://...")
        return value


QUEUE_SCHEMES = ("redis://", "rediss://", "unix://")


class ServiceSettings(Section):
    """Where footage and results live, and how the service takes files and runs workers."""

    commands = ("serve", "worker", "people", "search")
    data: Path = Field(Path("./data"), description="holds `inbox/`, `outbox/`, `state/` unless these are set")
    inbox: Path | None = Field(None, description="inbox folder", json_schema_extra={"none": "<data>/inbox"})
    outbox: Path | None = Field(None, description="outbox folder", json_schema_extra={"none": "<data>/outbox"})
    state: Path | None = Field(
        None,
        description="job database; footage being processed, done, failed",
        json_schema_extra={"none": "<data>/state"},
    )
    workers: int = Field(
        1,
        ge=0,
        le=64,
        description="worker processes, each with its own detector (1 suits 2 cores); 0: none here "
        "(an ingest box whose workers are other boxes, with `queue`)",
    )
    queue: SecretStr | None = Field(
        None,
        description="the job queue: unset for the embedded one (SQLite in `state/`); "
        "`redis://:password@host:6379/0` for boxes sharing one queue (RQ); a password is required off loopback",
    )
    allow_insecure_queue: bool = Field(
        False,
        description="accept a `queue` with no password on another host: anyone who reaches that Redis can then "
        "queue work for every worker (only for a network that is yours alone)",
    )
    box: str = Field(
        "",
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]*$",
        description="this box's name in the fleet (workers, events, job records); empty: the host name",
    )
    split_s: float = Field(
        900.0,
        ge=0,
        description="a recording with more than this many seconds to analyse (its active stretches, with the "
        "scan) is processed in parts that any worker may take; 0: never split",
    )
    heartbeat_grace_s: float = Field(
        35.0,
        ge=5,
        le=3600,
        description="a fleet worker's running job sends a heartbeat every 10 s; one this much later is taken as "
        "a lost box (power, network) and the job is retried on another (longer: fewer false alarms on a flaky link)",
    )
    polling: bool = Field(False, description="poll the inbox instead of inotify: for NFS/SMB/bind mounts")
    settle_s: float = Field(3.0, ge=0, description="a file is taken once its size and mtime are unchanged this long")
    scan_interval_s: float = Field(30.0, gt=0, description="full inbox scan, to catch anything the watcher missed")
    log_level: LogLevel = Field("INFO", description="one line per event on stderr")
    stall_timeout_s: float = Field(
        120.0, ge=5, description="a worker whose job makes no progress this long is stopped; the job counts an attempt"
    )
    worker_memory_mb: int = Field(
        2816,
        ge=0,
        description="address-space limit of each worker process and of the search process, in MB (0: none); "
        "keep it under the container's memory limit (compose: 3g), so a job that needs more fails with a reason",
    )
    disk_full_retry_s: float = Field(
        30.0, gt=0, description="a job that found the disk full waits this long, doubling each time up to 20x"
    )
    cpu_limit_factor: float = Field(
        10.0,
        ge=0,
        description="a job may use this many CPU seconds per second of footage (at least 30 min; 0: no limit)",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("queue")
    @classmethod
    def _queue_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(QUEUE_SCHEMES):
            raise ValueError(f"must be unset (the embedded queue) or a Redis URL ({', '.join(QUEUE_SCHEMES)}...)")
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _queue_has_a_password(self) -> ServiceSettings:
        """Whoever can write to the fleet's Redis can queue work for every worker: off this box, it needs a password."""
        problem = open_queue(self.queue_url) if self.queue is not None else None
        if problem and not self.allow_insecure_queue:
            raise SettingError(
                "queue",
                f"{problem}: anyone who reaches it could queue work for every worker. Set a password "
                "(`requirepass`; redis://:<password>@host:6379/0), or set allow_insecure_queue if this network "
                "is yours alone",
            )
        return self

    @property
    def fleet(self) -> bool:
        """Jobs are shared with other boxes through Redis."""
        return self.queue is not None

    @property
    def queue_url(self) -> str:
        return self.queue.get_secret_value() if self.queue else ""

    @property
    def inbox_dir(self) -> Path:
        return self.inbox or self.data / "inbox"

    @property
    def outbox_dir(self) -> Path:
        return self.outbox or self.data / "outbox"

    @property
    def state_dir(self) -> Path:
        return self.state or self.data / "state"


MIN_TOKEN_LENGTH = 24


MIN_TOKEN_KINDS = 8  # different characters: a random 24-character hex token has fewer once in 66,000 draws


def token_weakness(token: str) -> str | None:
    """Why a token is easy to guess (too short, few different characters, a pattern repeated), or None."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"must be at least {MIN_TOKEN_LENGTH} characters"
    if len(set(token)) < MIN_TOKEN_KINDS:
        return f"must have at least {MIN_TOKEN_KINDS} different characters (a random one, not a typed one)"
    if any(token == (token[:period] * len(token))[: len(token)] for period in range(1, len(token) // 2 + 1)):
        return "must not be a pattern repeated (a random one, not a typed one)"
    return None


class WebSettings(Section):
    """The status page and API."""

    commands = ("serve",)
    host: str = Field("127.0.0.1", min_length=1, description="address to bind; any non-loopback host requires `token`")
    port: int = Field(8080, ge=0, le=65535, description="port (0: any free port)")
    token: SecretStr | None = Field(
        None,
        description=f"required off loopback, at least {MIN_TOKEN_LENGTH} characters: "
        "`Authorization: Bearer <token>` or sign in on the page",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="host names the page answers to besides loopback ones (comma-separated), e.g. `nvr.site.lan`; "
        "off loopback, empty means any",
    )
    tls_proxy: bool = Field(
        False,
        description="served behind a TLS reverse proxy on this box: `Secure` `__Host-` session cookie, "
        "`X-Forwarded-For`/`-Host`/`-Proto` believed from `tls_proxy_address` only",
    )
    tls_proxy_address: str = Field(
        "127.0.0.1",
        description="the address the TLS proxy connects from (with `tls_proxy`); its last `X-Forwarded-For` "
        "entry is the client, for sign-in limits and logs",
    )

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        weakness = token_weakness(value.get_secret_value())
        if weakness:
            raise ValueError(
                f"{weakness}; make one with `openssl rand -hex 24` "
                'or `python3 -c "import secrets; print(secrets.token_urlsafe(24))"`'
            )
        return value

    @field_validator("tls_proxy_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        """One IP address, as the proxy's connections come from it: a name or ``*`` would believe anyone."""
        try:
            return str(ipaddress.ip_address(value.strip().strip("[]")))
        except ValueError:
            raise ValueError("must be the IP address the proxy connects from, e.g. 127.0.0.1") from None

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip().lower() for name in value.split(",") if name.strip()]
        return value


class RetentionSettings(Section):
    """What is deleted, and when: nothing unless set."""

    prefix = "retention_"
    commands = ("serve",)
    outbox_days: float = Field(0.0, ge=0, description="purge results older than this many days (0: keep)")
    outbox_gb: float = Field(0.0, ge=0, description="purge the oldest results past this total size (0: no cap)")
    done_days: float = Field(0.0, ge=0, description="delete processed footage in `state/done/` after this many days")


def open_queue(url: str) -> str | None:
    """Why a queue URL lets anyone who reaches it in (a Redis on another host with no password), or None."""
    parts = urlsplit(url)
    if parts.scheme == "unix" or has_password(url):
        return None  # a socket on this box is guarded by its file mode
    host = parts.hostname or "localhost"
    return None if is_loopback(host) else f"the Redis at {host} has no password"


def has_password(url: str) -> bool:
    """A Redis URL that carries a password (``redis://[user]:pw@host``, or ``?password=``)."""
    parts = urlsplit(url)
    return bool(parts.password or parse_qs(parts.query).get("password", [""])[0])


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    """All settings, one section per part; each part is handed its own section."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    extract: ExtractSettings = ExtractSettings()
    motion: MotionSettings = MotionSettings()
    scan: ScanSettings = ScanSettings()
    people: PeopleSettings = PeopleSettings()
    events: EventsSettings = EventsSettings()
    service: ServiceSettings = ServiceSettings()
    web: WebSettings = WebSettings()
    retention: RetentionSettings = RetentionSettings()

    @model_validator(mode="after")
    def _token_off_loopback(self, info: ValidationInfo) -> Settings:
        serving = bool(info.context and info.context.get("serving"))
        if serving and not is_loopback(self.web.host) and self.web.token is None:
            raise SettingError(
                "token",
                f"required when binding to {self.web.host!r} (not loopback): set APPLIANCE_TOKEN or 'token' "
                "in the config file",
            )
        return self


SECTIONS: dict[str, type[Section]] = {
    name: info.annotation  # type: ignore[misc]
    for name, info in Settings.model_fields.items()
}


def flat_name(section: type[Section], field: str, info: FieldInfo) -> str:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return str(extra.get("flat") or f"{section.prefix}{field}")


def is_secret(info: FieldInfo) -> bool:
    """Secrets get no command-line flag (other users can read command lines) and are never shown."""
    return "SecretStr" in str(info.annotation)


def setting_index() -> dict[str, tuple[str, str, FieldInfo]]:
    """Every setting by flat name: (section, field, field info), in declaration order."""
    index: dict[str, tuple[str, str, FieldInfo]] = {}
    for section_name, section in SECTIONS.items():
        for field, info in section.model_fields.items():
            flat = flat_name(section, field, info)
            if flat in index:
                raise RuntimeError(f"two settings share the flat name {flat!r}")
            index[flat] = (section_name, field, info)
    return index
