"""Celery workers of coopbench: ``celery -A workers worker``.

Thin: the app, its settings, and tasks that hand an id to ``coopbench.job``. The app is
made on first access of ``workers.app``, not at import.
"""


def __getattr__(name: str) -> object:
    if name == "app":
        from workers.celery_app import get_app

        return get_app()
    raise AttributeError(f"module 'workers' has no attribute {name!r}")
