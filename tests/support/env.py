"""The environment of a ``coopbench`` (or worker) subprocess a test starts."""

import os

from coopbench.config import Settings


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any ``COOPBENCH_*`` variable (a developer's own
    settings must not leak into a test), litellm's offline price map, then ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPBENCH_")}
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", **values)
    return env


def settings_env(settings: Settings, **values: str) -> dict[str, str]:
    """A clean environment pointed at ``settings``' store, broker and queue."""
    return clean_env(COOPBENCH_DATABASE_URL=settings.database_url,
                     COOPBENCH_BROKER_URL=settings.broker_url, COOPBENCH_QUEUE=settings.queue,
                     **values)
