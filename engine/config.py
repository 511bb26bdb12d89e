"""Settings read from the environment (prefix DUTYFLOW_), one place for every tunable.

Built on pydantic-settings: each field reads DUTYFLOW_<its name in capitals>, and a value that
cannot be right (DUTYFLOW_YELLOW_FRACTION=abc, DUTYFLOW_EMBEDDED_WORKER=maybe) is refused when
the settings are built — at start-up — with a SettingsError naming the variable and what it should
be, instead of failing later in the middle of a request or a timer.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate_limit
from limits.storage import SCHEMES as RATE_LIMIT_SCHEMES
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'dutyflow.db'}"
ENV_PREFIX = "DUTYFLOW_"
SECRET_KEY_VARIABLE = f"{ENV_PREFIX}SECRET_KEY"
# The smallest key accepted: shorter ones can be guessed offline from one signed cookie.
MIN_SECRET_KEY_LENGTH = 32
# Keys that were ever published (the source used to carry a development key): never accepted.
KNOWN_KEYS = frozenset({"dev-only-change-me"})
DEMO_KEY_FILE = "dutyflow-secret.key"

_OFFICE_PERIOD = re.compile(r"^\s*([01]\d|2[0-3]):[0-5]\d\s*-\s*([01]\d|2[0-3]):[0-5]\d\s*$")

# What each variable should look like, for the message that refuses a bad one.
EXPECTED: dict[str, str] = {
    "database_url": "数据库地址，如 sqlite:///var/dutyflow.db 或 postgresql://user@host/db",
    "timezone": "IANA 时区名，如 Asia/Shanghai",
    "secret_key": f"至少 {MIN_SECRET_KEY_LENGTH} 个字符的随机串（如 python3 -c 'import secrets;"
                  f"print(secrets.token_urlsafe(32))' 的输出），不能是公开过的开发密钥",
    "office_hours": "办公时段，如 09:00-12:00,13:30-17:30（每段开始早于结束）",
    "demo": "1 或 0（true/false）",
    "region": "本服务器服务的区划名称，与清单的区划（catalog.region）一致，如 示例市；不设则不限",
    "embedded_worker": "auto、on 或 off",
    "yellow_days_before": "不小于 0 的整数（工作日数）",
    "yellow_fraction": "0 到 1 之间的比例，如 2/3 或 0.7",
    "trusted_origins": "以逗号分隔的来源，如 https://dutyflow.example.gov.cn",
    "cookie_secure": "1 或 0（true/false）",
    "forwarded_allow_ips": "以逗号分隔的反向代理 IP 地址或网段，如 10.0.0.5,10.1.0.0/16",
    "session_hours": "1 到 720 之间的整数（小时）",
    "login_limit_account": "限流写法，如 5/15minutes（每个账号 15 分钟内最多 5 次失败）",
    "login_limit_address": "限流写法，如 20/15minutes（每个来源地址 15 分钟内最多 20 次失败）",
    "login_limit_storage": "限流计数的存储地址，如 memory:// 或 redis://127.0.0.1:6379",
}


class SettingsError(Exception):
    """A setting is missing or malformed: the message and one line per variable, in Chinese."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__("\n".join([message, *(problems or [])]))
        self.message = message
        self.problems = list(problems or [])


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace("，", ",").split(",") if part.strip())
    return value


CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid",
                                      validate_default=False)

    database_url: str = DEFAULT_DATABASE_URL
    processes_dir: Path = PROJECT_ROOT / "processes"
    diagrams_dir: Path = PROJECT_ROOT / "diagrams"
    demo_catalog: Path = PROJECT_ROOT / "examples" / "demo-catalog.yaml"
    # Offices in China work on Beijing time; every stored timestamp carries this offset.
    timezone: str = "Asia/Shanghai"
    # Signs session cookies and API tokens. No default: `dutyflow serve` refuses to start without
    # it, except for the demo on a loopback address (see demo_secret_key).
    secret_key: str | None = Field(default=None, repr=False)
    # Office periods counted by hour limits and working-time countdowns (engine.calendar.OfficeHours.parse).
    office_hours: str = "09:00-12:00,13:30-17:30"
    # Load the demo catalog, publish it and create demo users at start-up when the database is empty.
    demo: bool = False
    # The region this server serves (its catalog's `region`): the runtime runs on that region's
    # version in force and the public catalog shows it first. Unset: the newest published version
    # of any region (one region per database, as most deployments have).
    region: str | None = Field(default=None, max_length=200)
    # Run the timer worker inside each server process: "auto" and "on" = yes, on every backend
    # (engine.runtime.worker.should_embed says why); "off" for deployments whose only timer workers
    # are `dutyflow worker` processes.
    embedded_worker: Literal["auto", "on", "off"] = "auto"
    # A time limit turns yellow this many working days before it ends, or once this share of it
    # is used, whichever comes first (engine.runtime.deadlines.WarningPolicy).
    yellow_days_before: int = Field(default=1, ge=0)
    yellow_fraction: str = "2/3"
    # Other origins the pages may be posted from (a reverse proxy that rewrites the Host header):
    # "https://dutyflow.example.gov.cn,https://…"; the server's own host is always trusted.
    trusted_origins: CommaList = ()
    # Mark the session cookie Secure on every response (the site is served over HTTPS only). Without
    # it the cookie is still Secure on requests that arrive over HTTPS, directly or as a trusted
    # proxy says (forwarded_allow_ips).
    cookie_secure: bool = False
    # Addresses of the reverse proxies whose X-Forwarded-Proto / X-Forwarded-For are believed;
    # empty = none (the headers are ignored, the client is the connecting address). "*" trusts all.
    forwarded_allow_ips: CommaList = ()
    # How long a sign-in (session cookie or API token) lasts; logout or an admin ends it earlier.
    session_hours: int = Field(default=12, ge=1, le=720)
    # Failed sign-ins allowed per account and per client address in a moving window (limits syntax).
    login_limit_account: str = "5/15minutes"
    login_limit_address: str = "20/15minutes"
    # Where the failures are counted: "memory://" = in each server process (several workers each
    # count on their own); "redis://host:6379" shares one count (needs the redis package).
    login_limit_storage: str = "memory://"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise settings_error(exc) from None

    @field_validator("trusted_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if item != "*":
                ipaddress.ip_network(item, strict=False)  # ValueError names nothing; EXPECTED does
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown zone") from None
        return value

    @field_validator("secret_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value in KNOWN_KEYS or len(value) < MIN_SECRET_KEY_LENGTH:
            raise ValueError("weak key")
        return value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        for part in value.replace("，", ",").split(","):
            if not _OFFICE_PERIOD.match(part):
                raise ValueError("bad period")
            start, end = (p.strip() for p in part.split("-"))
            if start >= end:
                raise ValueError("period ends before it starts")
        return value

    @field_validator("yellow_fraction")
    @classmethod
    def _fraction(cls, value: str) -> str:
        try:
            fraction = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError("not a fraction") from None
        if not 0 < fraction <= 1:
            raise ValueError("not between 0 and 1")
        return value

    @field_validator("login_limit_account", "login_limit_address")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        parse_rate_limit(value)  # ValueError on a malformed limit
        return value

    @field_validator("login_limit_storage")
    @classmethod
    def _limit_storage(cls, value: str) -> str:
        if urlsplit(value).scheme not in RATE_LIMIT_SCHEMES:
            raise ValueError("unknown storage")
        return value


def settings_error(exc: ValidationError) -> SettingsError:
    problems = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        shown = error.get("input")
        shown = "（未设置）" if shown is None else repr(shown if not isinstance(shown, Path) else str(shown))
        if name == "secret_key" and shown != "（未设置）":
            shown = "（已隐藏）"  # never print a key, even a rejected one
        problems.append(f"{ENV_PREFIX}{name.upper()}={shown}：应为{EXPECTED.get(name, '合法的值')}")
    return SettingsError("配置有误，服务未启动", problems)


# Cache, per process: (setting, its variable's raw value) → the validated value; bounded like
# _settings_cache. Engine steps ask for a setting a dozen times a case: reading one variable is
# enough to know whether its value changed, where get_settings reads all of them.
_one_setting_cache: dict[tuple[str, str | None], Any] = {}


def setting(name: str) -> Any:
    """One setting as the environment gives it now (a changed variable is seen at once; the value
    is validated with all the others, by get_settings, the first time it is seen)."""
    key = (name, os.environ.get(f"{ENV_PREFIX}{name.upper()}"))
    try:
        return _one_setting_cache[key]
    except KeyError:
        value = getattr(get_settings(), name)
        if len(_one_setting_cache) > 64:
            _one_setting_cache.clear()
        _one_setting_cache[key] = value
        return value


# Each field reads DUTYFLOW_<its name in capitals> (tests check this): the names to watch.
_SETTING_NAMES = tuple(f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields)
_settings_cache: dict[tuple, Settings] = {}


def get_settings() -> Settings:
    """The settings as the environment gives them now (engine steps ask several times per step;
    a changed variable is seen at once, which tests and the CLI rely on). Raises SettingsError."""
    environ = os.environ
    key = tuple(environ.get(name) for name in _SETTING_NAMES)
    found = _settings_cache.get(key)
    if found is None:
        if len(_settings_cache) > 64:  # tests change the environment often; stay bounded
            _settings_cache.clear()
        found = _settings_cache[key] = Settings()
    return found


# --- the secret key ---------------------------------------------------------------------------
MISSING_KEY = (f"未设置 {SECRET_KEY_VARIABLE}：它用于签发登录凭据，没有它任何人都可能伪造管理员身份。"
               f"请设置为至少 {MIN_SECRET_KEY_LENGTH} 个字符的随机串，例如 "
               f"export {SECRET_KEY_VARIABLE}=$(python3 -c 'import secrets;print(secrets.token_urlsafe(32))')。"
               "（仅在回环地址上以 --demo 运行演示时可不设置，将自动生成。）")


def require_secret_key(settings: Settings) -> str:
    """The key, or a SettingsError naming the variable: a server never signs with a known key."""
    if not settings.secret_key:
        raise SettingsError(MISSING_KEY)
    return settings.secret_key


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def data_directory(settings: Settings) -> Path:
    """Where this installation keeps its data: the SQLite file's folder, else var/ of the project."""
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url and ":memory:" not in url:
        return Path(url.split(":///", 1)[1]).expanduser().resolve().parent
    return PROJECT_ROOT / "var"


def demo_secret_key(settings: Settings) -> str:
    """The demo's key: random, made once per data directory and kept there (mode 0600), so demo
    sign-ins survive a restart while no two installations — and no attacker — share a key."""
    folder = data_directory(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEMO_KEY_FILE
    if not path.exists():
        # Written aside and linked into place: several workers starting at once end up with the
        # same key (the first link wins, the others read it), never with a half-written file.
        temporary = folder / f".{DEMO_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(f"演示密钥文件 {path} 内容无效：请删除它后重新启动")
    return key


def prepare_secret_key(host: str, demo: bool) -> None:
    """Before `dutyflow serve` starts uvicorn: make sure its workers will find a key.

    With DUTYFLOW_SECRET_KEY set nothing changes. The demo on a loopback address gets the key of
    its data directory, put in the environment the workers inherit. Anything else is refused.
    """
    settings = get_settings()
    if settings.secret_key:
        return
    if not (demo and is_loopback(host)):
        raise SettingsError(MISSING_KEY)
    os.environ[SECRET_KEY_VARIABLE] = demo_secret_key(settings)
