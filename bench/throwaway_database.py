"""A throwaway store for one benchmark run: a SQLite file in its work folder, or a fresh
PostgreSQL database on the local server, dropped afterwards."""

import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def fresh_database(kind: str, work: Path | None = None) -> tuple[str, Callable[[], None]]:
    """(its SQLAlchemy URL, a function that removes it); ``work`` holds a SQLite file."""
    if kind == "sqlite":
        return f"sqlite:///{work / 'bench.db'}", lambda: None
    name = f"coopbench_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop
