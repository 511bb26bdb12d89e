"""Settings read from the environment (prefix DUTYFLOW_), one place for every tunable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'var' / 'dutyflow.db'}"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DUTYFLOW_{name}", default)


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", DEFAULT_DATABASE_URL))
    processes_dir: Path = field(default_factory=lambda: Path(_env("PROCESSES_DIR", str(PROJECT_ROOT / "processes"))))
    diagrams_dir: Path = field(default_factory=lambda: Path(_env("DIAGRAMS_DIR", str(PROJECT_ROOT / "diagrams"))))
    demo_catalog: Path = field(
        default_factory=lambda: Path(_env("DEMO_CATALOG", str(PROJECT_ROOT / "examples" / "demo-catalog.yaml")))
    )
    # Offices in China work on Beijing time; every stored timestamp carries this offset.
    timezone: str = field(default_factory=lambda: _env("TIMEZONE", "Asia/Shanghai"))
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", "dev-only-change-me"))
    # Office periods counted by hour limits and working-time countdowns (engine.calendar.OfficeHours.parse).
    office_hours: str = field(default_factory=lambda: _env("OFFICE_HOURS", "09:00-12:00,13:30-17:30"))
    # Load the demo catalog, publish it and create demo users at start-up when the database is empty.
    demo: bool = field(default_factory=lambda: _env("DEMO", "0") == "1")
    # Run the timer worker inside the server process: "auto" = only on SQLite (single process).
    embedded_worker: str = field(default_factory=lambda: _env("EMBEDDED_WORKER", "auto"))
    # A time limit turns yellow this many working days before it ends, or once this share of it
    # is used, whichever comes first (engine.runtime.deadlines.WarningPolicy).
    yellow_days_before: int = field(default_factory=lambda: int(_env("YELLOW_DAYS_BEFORE", "1")))
    yellow_fraction: str = field(default_factory=lambda: _env("YELLOW_FRACTION", "2/3"))
    # Other origins the pages may be posted from (a reverse proxy that rewrites the Host header):
    # "https://dutyflow.example.gov.cn,https://…"; the server's own host is always trusted.
    trusted_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip() for o in _env("TRUSTED_ORIGINS", "").split(",") if o.strip())
    )


_FIELDS = {f.name: f for f in fields(Settings)}


def setting(name: str) -> Any:
    """One setting as the environment gives it now, without building the others (engine steps
    read a setting or two several times per step)."""
    return _FIELDS[name].default_factory()


# Each field reads DUTYFLOW_<its name in capitals> (tests check this): the names to watch.
_SETTING_NAMES = tuple(f.name.upper() for f in fields(Settings))
_settings_cache: dict[tuple, Settings] = {}


def get_settings() -> Settings:
    """The settings as the environment gives them now (engine steps ask several times per step;
    a changed variable is seen at once, which tests and the CLI rely on)."""
    key = tuple(os.environ.get(f"DUTYFLOW_{name}") for name in _SETTING_NAMES)
    found = _settings_cache.get(key)
    if found is None:
        found = _settings_cache[key] = Settings()
    return found
