"""Every setting of coopbench, defined once.

Resolution order, highest first: a command-line flag, a ``COOPBENCH_*`` environment
variable, the config file, the default. The config file is TOML: the file named by
``COOPBENCH_CONFIG`` or ``--config``, else ``./coopbench.toml`` if it exists. Keys are the
field names below; an unknown key is an error, not silently dropped.
"""

import os
from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from coopbench.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("coopbench.toml")
UPSTREAM_IMAGE_TEMPLATE = "akhatua/cooperbench-{slug}:task{task_id}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COOPBENCH_", extra="forbid")

    database_url: str = Field(
        "sqlite:///coopbench.db",
        description="SQLAlchemy URL of the store. SQLite (a file in the working directory) for one "
        "host, PostgreSQL (postgresql+psycopg://...) for many.",
    )
    broker_url: str = Field(
        "redis://localhost:6379/0", description="Celery broker: the Redis the jobs are queued on."
    )
    bus_url: str | None = Field(
        None, description="Redis the agents message each other on; defaults to the broker's Redis."
    )
    image_template: str = Field(
        UPSTREAM_IMAGE_TEMPLATE,
        description="Docker image of a task; {slug} is the repo dir without _task, underscores "
        "as hyphens, {task_id} the task number.",
    )
    base_image: str = Field(
        "python:3.11-slim", description="BASE_IMAGE build argument when building task images."
    )
    lease_s: float = Field(
        60.0, gt=0, description="How long a claim on a job lasts without a heartbeat, seconds."
    )
    agent_timeout_s: float = Field(
        3 * 3600.0, gt=0, description="Limit on one command an agent runs in its container, "
        "seconds (upstream's mini_swe_agent_v2: 10800).",
    )
    job_timeout_s: float = Field(
        4 * 3600.0, gt=0, description="Longest a job may run before Celery stops it, seconds; "
        "the broker's visibility timeout is set above it.",
    )
    queue: str = Field("coopbench", description="Celery queue the jobs are published on.")
    concurrency: int = Field(
        2, ge=1, description="Jobs one worker process runs at once (Celery's --concurrency, "
        "which wins when given).",
    )
    max_containers: int = Field(
        0, ge=0, description="Containers coopbench runs at once on one Docker engine, over all "
        "its workers (0 = no limit); a job waits for a free slot.",
    )
    container_memory: str | None = Field(
        None, description="Memory limit of each task container, Docker syntax (e.g. 4g).",
    )
    container_cpus: float | None = Field(
        None, gt=0, description="CPUs of each task container (e.g. 2 or 0.5).",
    )
    eval_timeout_s: float = Field(
        600.0, gt=0, description="Limit on one test run during evaluation, seconds."
    )
    sweep_interval_s: float = Field(
        30.0, gt=0,
        description="How often the sweeper and the workers' container cleanup run, seconds.",
    )
    agent_wall_s: float = Field(
        2 * 3600.0, gt=0, description="Wall-time limit on one agent, seconds: past it the worker "
        "stops the agent's container and records LimitsExceeded (upstream's agent containers "
        "live 2 hours).",
    )
    infra_retries: int = Field(
        3, ge=0, description="How many times a job that failed for an infrastructure reason "
        "(Docker, Redis, database, provider down, a lost worker) is tried again before it is "
        "failed_infra.",
    )
    retry_backoff_s: float = Field(
        30.0, ge=0, description="First delay before such a retry, seconds; doubled each time "
        "(at most 10 minutes), with +-50% jitter.",
    )
    llm_max_concurrency: int = Field(
        0, ge=0, description="Model calls at once per model (litellm model string) over every "
        "worker on every host, kept in Redis (0 = no limit); halved on each 429 and regained "
        "one per round of calls.",
    )
    llm_requests_per_minute: int = Field(
        0, ge=0, description="Model requests per minute per model over every worker (0 = no "
        "limit).",
    )
    llm_tokens_per_minute: int = Field(
        0, ge=0, description="Tokens (as the responses report them) per minute per model over "
        "every worker (0 = no limit).",
    )
    retry_poll_s: float = Field(
        5.0, gt=0, description="How often each worker publishes the retries that have come due "
        "(they wait in the store, not in delayed messages), seconds; the sweeper does too.",
    )
    pull_timeout_s: float = Field(
        3600.0, gt=0, description="Longest one pull of a task image may take, and longest a job "
        "waits for another worker's pull of its image on the same Docker engine, seconds.",
    )
    docker_timeout_s: float = Field(
        120.0, gt=0, description="Longest the Docker engine may leave one call unanswered, "
        "seconds; past it the job fails as an infrastructure error (retried). A command in a "
        "container runs up to its own limit, and the engine must answer a check every this "
        "many seconds meanwhile.",
    )
    min_free_disk_gb: float = Field(
        5.0, ge=0, description="Free space Docker's data root must have before a pull, GB; when "
        "short, task images coopbench pulled that no queued or running job needs are removed, "
        "least recently used first.",
    )
    visibility_timeout_s: float | None = Field(
        None, gt=0, description="Redis broker's visibility timeout, seconds; default "
        "job_timeout_s + 1 hour. Only lower it to test redelivery.",
    )

    @model_validator(mode="after")
    def _limits_fit_together(self) -> "Settings":
        # An agent may not outlive its job: the job's limit would cut it off first, and its
        # outcome would be a timeout of the job rather than the agent's LimitsExceeded.
        if self.agent_wall_s >= self.job_timeout_s:
            raise ValueError(
                f"agent_wall_s ({self.agent_wall_s:g} s) must be below job_timeout_s "
                f"({self.job_timeout_s:g} s), which also holds the evaluation: lower "
                "COOPBENCH_AGENT_WALL_S or raise COOPBENCH_JOB_TIMEOUT_S")
        return self

    @property
    def resolved_bus_url(self) -> str:
        return self.bus_url or self.broker_url

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        config_file = _config_file()
        if config_file is not None:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=config_file),)
        return sources


def _config_file() -> Path | None:
    named = os.environ.get("COOPBENCH_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"config file {path} (from COOPBENCH_CONFIG) does not exist")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Resolve the settings; ``overrides`` are flag values, ``None`` meaning "not given"."""
    if config_file is not None:
        os.environ["COOPBENCH_CONFIG"] = str(config_file)
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in error.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except (OSError, ValueError) as error:  # unreadable or malformed TOML
        raise ConfigError(f"cannot read config file: {error}") from None


def settings_table() -> list[tuple[str, str, str]]:
    """(name, env var, description) of every setting, for the README and `--help`."""
    return [
        (name, f"COOPBENCH_{name.upper()}", field.description or "")
        for name, field in Settings.model_fields.items()
    ]
