"""``coopbench sweep``: re-publish jobs whose lease expired or whose message was lost.

Runs a pass every ``--interval`` seconds until stopped (SIGTERM or Ctrl-C), or one pass
with ``--once``. ``--cleanup`` also removes the orphan containers of this host's Docker
engine, as every worker does on its own; it is a flag because a sweeper may run where
there is no Docker.
"""

import signal
import threading
from datetime import datetime
from typing import Annotated

import redis
import typer
from sqlalchemy.exc import SQLAlchemyError

from coopbench.cli.common import console, err_console, settings_from
from coopbench.config import Settings
from coopbench.errors import BrokerUnavailable, ConfigError, InfraError, StoreUnavailable
from coopbench.store import Store

REDIS_SCHEMES = ("redis", "rediss")


def sweep(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float | None, typer.Option(
        "--interval", metavar="S", min=0.1,
        help="Seconds between passes (default: the sweep_interval_s setting).")] = None,
    cleanup: Annotated[bool, typer.Option(
        "--cleanup", help="Also remove orphan containers on this host's Docker engine.")] = False,
) -> None:
    """Re-publish running jobs whose lease expired and queued jobs with no message in the
    broker (never published, or lost), and the same for standalone evaluations."""
    settings = settings_from(ctx)
    if settings.broker_url.split(":", 1)[0] not in REDIS_SCHEMES:
        raise ConfigError(f"the sweeper reads the broker's queue in Redis; {settings.broker_url} "
                          "is not a redis:// URL")
    store = Store.open(settings)
    broker = redis.Redis.from_url(settings.broker_url, socket_timeout=30)
    if once:
        console.out(_one_pass(settings, store, broker, cleanup))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    every = interval or settings.sweep_interval_s
    console.out(f"sweeping queue {settings.queue} every {every:g} s")
    try:
        while True:
            try:
                line = _one_pass(settings, store, broker, cleanup)
                console.out(f"{datetime.now():%H:%M:%S} {line}")
            except InfraError as error:  # the broker or the store away: try again next time
                err_console.print(f"{datetime.now():%H:%M:%S} sweep failed: {error}")
            if stop.wait(every):
                return
    except KeyboardInterrupt:
        return


def _one_pass(settings: Settings, store: Store, broker: redis.Redis, cleanup: bool) -> str:
    from scheduler.sweeper import sweep_pass  # imported when needed: it brings in Celery

    try:
        report = sweep_pass(settings, store, broker)
    except redis.RedisError as error:
        raise BrokerUnavailable(f"the broker {settings.broker_url} failed: {error}") from None
    except SQLAlchemyError as error:
        raise StoreUnavailable(f"the store {store.safe_url} failed: "
                               f"{str(error).splitlines()[0]}") from None
    line = report.summary()
    if cleanup:
        from coopbench.sandbox.cleanup import cleanup_once
        line += f" containers_removed={len(cleanup_once(settings, store))}"
    return line


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
