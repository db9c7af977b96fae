"""Settings from environment variables, with embedded defaults that need no set-up.

`PORTAL_DATABASE_URL`, `PORTAL_STORAGE_URL` and `PORTAL_SEARCH_URL` choose the
backends (DESIGN.md); everything lives under `instance/` by default.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _instance_dir() -> Path:
    return Path(os.environ.get("PORTAL_INSTANCE_DIR", PROJECT_ROOT / "instance")).resolve()


def _secret_key(instance: Path) -> str:
    """A stable secret for the embedded set-up: generated once into instance/."""
    env = os.environ.get("PORTAL_SECRET_KEY")
    if env:
        return env
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Settings:
    instance_dir: Path
    secret_key: str
    database_url: str
    storage_url: str
    search_url: str
    debug: bool = False
    testing: bool = False
    session_cookie_secure: bool = True
    max_upload_bytes: int = 200 * 1024 * 1024
    invitation_valid_hours: int = 72
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30
    login_window_seconds: int = 15 * 60
    session_idle_minutes: int = 8 * 60
    smtp_url: str | None = None
    mail_sender: str = "aftaleportalen@localhost"
    base_url: str = "http://127.0.0.1:5000"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> "Settings":
        instance = _instance_dir()
        debug = _env_bool("PORTAL_DEBUG", False)
        return cls(
            instance_dir=instance,
            secret_key=_secret_key(instance),
            database_url=os.environ.get("PORTAL_DATABASE_URL", f"sqlite:///{instance / 'portal.sqlite3'}"),
            storage_url=os.environ.get("PORTAL_STORAGE_URL", str(instance / "objects")),
            search_url=os.environ.get("PORTAL_SEARCH_URL", str(instance / "search")),
            debug=debug,
            session_cookie_secure=_env_bool("PORTAL_SECURE_COOKIES", not debug),
            max_upload_bytes=int(os.environ.get("PORTAL_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)),
            smtp_url=os.environ.get("PORTAL_SMTP_URL") or None,
            mail_sender=os.environ.get("PORTAL_MAIL_SENDER", "aftaleportalen@localhost"),
            base_url=os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        )

    def override(self, values: dict[str, Any]) -> "Settings":
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key in known:
                setattr(self, key, value)
            else:
                self.extra[key] = value
        return self
