"""Connecting to the store: SQLite (WAL) on one host, PostgreSQL on many, same code."""

import functools
import logging
import os
import random
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from coopbench.config import Settings
from coopbench.errors import ConfigError, StoreUnavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # several local workers write at once; wait, don't fail
PG_MIGRATION_LOCK_ID = 0x0C00_BE4C  # advisory lock: two hosts starting at once migrate once
# A database restart takes seconds; a write that fails meanwhile is tried again for about a
# minute before the failure is the job's (an infrastructure error, retried later).
WRITE_RETRY_DELAYS_S = (0.5, 1, 2, 4, 8, 15, 30)


def retry_on_disconnect(write):
    """Run ``write`` again when the database connection failed (a restart, a network blip,
    SQLite busy past its timeout). Each write is one transaction, so a retry redoes all of
    it; fenced writes stay correct, since a retry of one that did commit finds it done."""
    @functools.wraps(write)
    def retrying(*args, **kwargs):
        for delay in WRITE_RETRY_DELAYS_S:
            try:
                return write(*args, **kwargs)
            except (OperationalError, DBAPIError) as error:
                if isinstance(error, DBAPIError) and not (
                        isinstance(error, OperationalError) or error.connection_invalidated):
                    raise  # a real error (constraint, syntax), not a lost connection
                log.warning("%s: database unavailable (%s); retrying in %.1f s",
                            write.__name__, str(error).splitlines()[0], delay)
                time.sleep(delay * random.uniform(0.8, 1.2))
        return write(*args, **kwargs)
    return retrying


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no zone, and lease comparisons must agree on both engines."""
    return datetime.now(UTC).replace(tzinfo=None)


def host_name() -> str:
    """This host's name in the store and on container labels: COOPBENCH_HOST_NAME if set (a
    worker in a container would otherwise report its container id), else the hostname."""
    return os.environ.get("COOPBENCH_HOST_NAME") or socket.gethostname()


class Store:
    """An engine and a session factory for one database URL."""

    def __init__(self, url: str):
        self.url = _normalise_url(url)
        self.engine = _make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, settings: Settings, check: bool = True) -> "Store":
        """The one way coopbench opens its store: the settings' database, and (``check``)
        a ``StoreUnavailable`` that names it at once if it does not answer."""
        store = cls(settings.database_url)
        if check:
            store.check()
        return store

    @classmethod
    def open_existing(cls, settings: Settings) -> "Store":
        """The store a run was written to, for a command that only reads it: a ConfigError,
        with nothing created, when the URL names no coopbench store or one of another
        schema (a mistyped SQLite path would otherwise become a new, empty database)."""
        _require_sqlite_file(_normalise_url(settings.database_url))
        store = cls.open(settings)
        store.require_schema()
        return store

    def require_schema(self) -> None:
        """Raise a ConfigError unless the database holds coopbench's schema at the revision
        this coopbench reads."""
        problem = self.schema_problem()
        if problem:
            raise ConfigError(problem)

    def schema_problem(self, none_is_fine: bool = False) -> str | None:
        """What is wrong with the database's schema for this coopbench, or None; with
        ``none_is_fine``, a database with no schema yet is fine (its first enqueue makes one)."""
        head = head_revision()
        with self.engine.connect() as conn:
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except (OperationalError, ProgrammingError):  # no such table
                revision = None
        where = f"the database {self.safe_url}"
        if revision is None:
            return None if none_is_fine else (
                f"{where} holds no coopbench store (no schema): check COOPBENCH_DATABASE_URL / "
                "--database-url; `coopbench enqueue` or `coopbench db upgrade` creates one")
        if revision < head:
            return (f"{where} has schema revision {revision} and this coopbench reads {head}: "
                    "run `coopbench db upgrade` first")
        if revision > head:
            return (f"{where} was migrated by a newer coopbench (schema revision {revision}; "
                    f"this one knows up to {head}): upgrade coopbench here")
        return None

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def session(self) -> Session:
        return self.sessions()

    def require_run(self, session: Session, name: str):
        """The run called ``name``, or a ConfigError that names the runs there are."""
        from coopbench.store.models import Run  # models import this module

        run = session.get(Run, name)
        if run is None:
            names = session.scalars(select(Run.name).order_by(Run.name)).all()
            raise ConfigError(f"run {name!r} is not in the store {self.safe_url}; "
                              f"runs there: {', '.join(names) or 'none'}")
        return run

    def check(self) -> None:
        """Raise StoreUnavailable, naming the database, unless it answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            raise StoreUnavailable(
                f"cannot reach the database {self.safe_url}: {error.__class__.__name__}: "
                f"{str(error).splitlines()[0]}. Check COOPBENCH_DATABASE_URL / --database-url."
            ) from None

    def upgrade(self) -> None:
        """Create or migrate the schema to the newest revision (safe to call from many hosts)."""
        self.check()
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": PG_MIGRATION_LOCK_ID})
            from alembic import command  # here: a command that only reads starts faster

            config = _alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def is_current(self) -> bool:
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        return current == ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def dispose(self) -> None:
        self.engine.dispose()


def head_revision() -> str:
    """The newest migration's revision, from the file names (``NNNN_name.py``, revision
    ``NNNN``): read without importing Alembic, which a command that only reads need not."""
    return max(path.name[:4] for path in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def _require_sqlite_file(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).is_file():
        raise ConfigError(f"no coopbench store at {Path(parsed.database).resolve()} (SQLite): "
                          "check COOPBENCH_DATABASE_URL / --database-url; `coopbench enqueue` or "
                          "`coopbench db upgrade` creates one")


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _normalise_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            f"invalid database URL {url!r}: expected e.g. sqlite:///coopbench.db or "
            "postgresql+psycopg://user:password@host/db"
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver we ship
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    # pre_ping: a database restart leaves dead pooled connections; test before use.
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"connect_timeout": 10}
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can then
        # wait on busy_timeout instead of failing with "database is locked" on upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
