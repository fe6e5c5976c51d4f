"""Application configuration.

Values are read from the environment when a config object is *instantiated* (in create_app),
never at import time, so tests and the CLI can change the environment before building an app.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """The configuration cannot run safely (e.g. production without a secret key)."""


class Config:
    """Settings shared by every environment. DATABASE_URL defaults to a SQLite file in the instance folder."""

    ENV_NAME = "base"
    TESTING = False
    DEBUG = False
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    WTF_CSRF_TIME_LIMIT = None
    # Bootstrap-Flask: serve CSS/JS locally so pages work without network (and with a strict CSP).
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BTN_STYLE = "primary"
    CASES_PER_PAGE = 50
    # Horizons whose number at risk falls below this are flagged "unstable".
    SURVIVAL_UNSTABLE_AT_RISK = 10
    # Baseline series per country; countries not listed use eurostat-bd, else their national series.
    BASELINE_SERIES = {"FR": "insee-sine"}
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    # Hints about possible duplicates in other federations a user gets per day (import review,
    # case form): services/casework/duplicate_hints.py. Counted in the database (every worker).
    IMPORT_DUPLICATE_HINTS_PER_DAY = 50
    PASSWORD_HASH_METHOD = "scrypt"
    # Failed logins allowed per account and per client address (Flask-Limiter syntax).
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "20 per 15 minutes"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis gone for a moment: throttle per process rather than refuse every login.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # Strict-Transport-Security max-age in seconds (0: no header); production sets a year.
    HSTS_SECONDS = 0
    # The login page lists the logins `tracker quickstart` created (development only).
    SHOW_DEMO_LOGINS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # The annual report page generates editions in a background thread (tracker/reports/jobs.py);
    # a job not finished after this long is shown as interrupted.
    REPORT_JOBS_INLINE = False
    REPORT_JOB_STALE_MINUTES = 30
    REPORT_MAX_JOBS = 2  # report jobs generated at once per instance; the others wait in a queue
    REPORT_MIN_CELL = 3  # the public edition withholds closure counts and estimates resting on fewer enterprises
    # Language of the interface without any other choice (docs/design.md, "Languages"): en, fr, it or es.
    BABEL_DEFAULT_LOCALE = "en"

    def __init__(self) -> None:
        # No key in the environment: create_app uses instance_secret_key() (never a public default).
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or None
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", self.RATELIMIT_STORAGE_URI)
        # Keys in a shared Redis start with this (several installations, or CI runs, on one server).
        self.RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "tracker")
        self.IMPORT_DUPLICATE_HINTS_PER_DAY = int(os.environ.get("IMPORT_DUPLICATE_HINTS_PER_DAY",
                                                                 self.IMPORT_DUPLICATE_HINTS_PER_DAY))
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("DATABASE_URL"))
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE") or type(self).BABEL_DEFAULT_LOCALE


def normalise_database_url(url: str | None) -> str | None:
    """Map `postgres://`/`postgresql://` URLs to the psycopg 3 driver; None means the default SQLite file."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


SECRET_KEY_FILE = "secret_key"


def instance_secret_key(instance_path: str | Path) -> str:
    """The signing key kept in the instance folder, created at first use: random, readable by its
    owner only (0600). Used when SECRET_KEY is not set, so no two installations share a key and
    none is published in the source. A key file others may read is refused."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SECRET_KEY_FILE
    if not path.exists():
        # Written aside and linked into place: two processes starting together agree on one key.
        draft = folder / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(f"{path} may be read by other users; delete it (a new key is made) or chmod 600 it.")
    key = path.read_text().strip()
    if len(key) < 32:
        raise ConfigError(f"{path} holds no usable key; delete it and a new one is made.")
    return key


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False  # the debugger is opt-in via `flask run --debug`
    SHOW_DEMO_LOGINS = True


class TestingConfig(Config):
    __test__ = False  # not a pytest test class despite its name
    ENV_NAME = "testing"
    TESTING = True
    WTF_CSRF_ENABLED = False  # tests that exercise CSRF switch it back on explicitly
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashing keeps the suite quick; never in production
    REPORT_JOBS_INLINE = True  # within the request (an in-memory database is not shared with a thread)
    SQLITE_READER_PREWARM = False  # test apps start the SQLite reader process only when they read

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = secrets.token_urlsafe(32)  # per app: no key worth knowing
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("TEST_DATABASE_URL")) or "sqlite://"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    HSTS_SECONDS = 365 * 24 * 3600

    def __init__(self) -> None:
        super().__init__()
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL") if not os.environ.get(name)]
        if missing:
            raise ConfigError(
                f"ProductionConfig needs {' and '.join(missing)} in the environment; refusing to start.")
        # Login throttling counted in one worker's memory lets each worker allow its own quota.
        if self.RATELIMIT_STORAGE_URI.startswith("memory://") and os.environ.get("TRACKER_SINGLE_WORKER") != "1":
            raise ConfigError(
                "ProductionConfig needs RATELIMIT_STORAGE_URI (e.g. redis://127.0.0.1:6379/0) so that login "
                "throttling is shared by every worker; set TRACKER_SINGLE_WORKER=1 if only one process serves.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> Config:
    """The config named by TRACKER_CONFIG (development by default)."""
    name = os.environ.get("TRACKER_CONFIG", "development").lower()
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"TRACKER_CONFIG={name!r}: expected one of {', '.join(CONFIGS)}") from None
