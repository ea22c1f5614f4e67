"""The store's one clock: the database server's, read inside the statement that uses it.

Leases, heartbeats and retry due times are written by many hosts and compared by others; a
host whose clock is minutes off would otherwise see live leases as expired (and take a
running job over) or dead ones as live. ``db_now(offset_s)`` renders as the server's
current time plus ``offset_s`` seconds, as naive UTC like every stored time:

- PostgreSQL: ``statement_timestamp()`` (not ``now()``: that is the transaction's start);
- SQLite: ``strftime(... 'now')``; one host, but one rule, and the same text format
  SQLAlchemy stores (microseconds), so that comparisons between stored times hold.
"""

from datetime import datetime

from sqlalchemy import DateTime, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class db_now(FunctionElement):  # lower case: it reads as the SQL function it renders
    """The database's current time plus ``offset_s`` seconds (naive UTC)."""

    type = DateTime()
    inherit_cache = True
    name = "db_now"

    def __init__(self, offset_s: float = 0.0):
        super().__init__(literal(float(offset_s)))


@compiles(db_now, "postgresql")
def _postgresql(element: db_now, compiler, **kw) -> str:
    offset = compiler.process(element.clauses, **kw)
    return (f"((statement_timestamp() AT TIME ZONE 'UTC') "
            f"+ make_interval(secs => CAST({offset} AS double precision)))")


@compiles(db_now, "sqlite")
def _sqlite(element: db_now, compiler, **kw) -> str:
    offset = compiler.process(element.clauses, **kw)
    # %f is seconds with milliseconds; three zeros make SQLAlchemy's own microsecond format.
    return (f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', {offset})) "
            f"|| '000')")


@compiles(db_now)
def _other(element: db_now, compiler, **kw) -> str:
    raise NotImplementedError(f"db_now: no rendering for {compiler.dialect.name}")


def database_now(session) -> datetime:
    """The database's time, read once, for comparisons made in Python (status, cleanup)."""
    return session.scalar(select(db_now()))
