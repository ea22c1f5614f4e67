"""The Celery application. ``celery -A workers worker`` finds it as ``workers.app``.

Nothing is built at import: ``get_app()`` makes the worker's app from the settings on first
use (``workers.app`` is that, through the package's ``__getattr__``), and a publisher makes
its own with ``make_app(settings)``. The tasks are ``shared_task``s, so either app has them.

Worker flags beyond Celery's own (``-b/--broker`` sets the broker):
``--database-url``, ``--bus-url`` and ``--coopbench-config FILE``; they are put into the
environment so that every pool process resolves the same settings.
"""

import functools
import os

from celery import Celery, signals
from click import Option

from coopbench.config import Settings, load_settings
from workers.celeryconfig import celery_config

TASK_MODULES = ["workers.tasks", "workers.maintenance", "workers.image_control"]
PRELOAD_OPTIONS = {
    "database_url": "COOPBENCH_DATABASE_URL",
    "bus_url": "COOPBENCH_BUS_URL",
    "coopbench_config": "COOPBENCH_CONFIG",
}


def make_app(settings: Settings) -> Celery:
    celery = Celery("coopbench", include=TASK_MODULES)
    celery.conf.update(celery_config(settings))
    celery.user_options["preload"].add(Option(("--database-url",), help="coopbench store URL"))
    celery.user_options["preload"].add(Option(("--bus-url",), help="Redis URL of the agents' bus"))
    celery.user_options["preload"].add(
        Option(("--coopbench-config",), help="coopbench TOML config file")
    )
    return celery


@functools.cache
def get_app() -> Celery:
    """The worker's app, from the settings as they are when Celery first asks for it."""
    return make_app(load_settings())


@signals.user_preload_options.connect
def _apply_preload_options(options: dict, **_: object) -> None:
    for option, variable in PRELOAD_OPTIONS.items():
        if options.get(option):
            os.environ[variable] = options[option]
    if options.get("broker"):
        os.environ["COOPBENCH_BROKER_URL"] = options["broker"]
