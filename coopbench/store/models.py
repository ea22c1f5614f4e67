"""SQLAlchemy models. The schema itself is created by the Alembic migrations next door.

Times are naive UTC (``utcnow()``) everywhere: SQLite keeps no time zone, and lease
comparisons must order the same way on SQLite and PostgreSQL.
"""

import gzip
import zlib
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from coopbench.store.states import JobState


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(), dict: JSON, list: JSON}


class Run(Base):
    __tablename__ = "runs"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime]
    dataset: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[list]  # the settings asked for, e.g. ["solo", "coop"]
    step_limit: Mapped[int]
    cost_limit_usd: Mapped[float]
    image_template: Mapped[str] = mapped_column(String(300))
    config: Mapped[dict]  # the resolved configuration the run was enqueued with
    cost_cap_usd: Mapped[float | None] = mapped_column(Float)  # no new job starts past it
    cancelled_at: Mapped[datetime | None]

    jobs: Mapped[list["Job"]] = relationship(back_populates="run")
    images: Mapped[list["RunImage"]] = relationship(order_by="RunImage.image")

    @property
    def image_digests(self) -> dict[str, str]:
        """Each image the run's jobs ran, by name: the digest every one of them ran."""
        return {row.image: row.digest for row in self.images}


class TaskFeature(Base):
    """A feature's files, snapshotted at enqueue so that no worker needs the dataset."""

    __tablename__ = "task_features"

    run_name: Mapped[str] = mapped_column(ForeignKey("runs.name"), primary_key=True)
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    task_id: Mapped[int] = mapped_column(primary_key=True)
    feature_id: Mapped[int] = mapped_column(primary_key=True)
    spec: Mapped[str] = mapped_column(Text)
    gold_patch: Mapped[str] = mapped_column(Text)
    tests_patch: Mapped[str] = mapped_column(Text)


class Job(Base):
    """One (pair, setting, repeat) of a run. ``id`` is deterministic (see ``coopbench.job.setting``)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    run_name: Mapped[str] = mapped_column(ForeignKey("runs.name"), index=True)
    repo: Mapped[str] = mapped_column(String(200))
    task_id: Mapped[int]
    features: Mapped[list]  # [a, b] in the order the agents are given them
    setting: Mapped[str] = mapped_column(String(20))
    repeat: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 1..K: --repeats K
    state: Mapped[str] = mapped_column(String(20), index=True, default=JobState.queued)
    # Claim bookkeeping: a claim bumps the fencing token; only its holder may commit.
    fencing_token: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(300))
    lease_expires_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the holder's last sign of life
    # The earliest a new attempt may start (the database's clock): a queued retry's time
    # after its backoff; while running, the lease's end plus the backoff a lost worker's
    # retry waits. None: at once.
    due_at: Mapped[datetime | None]
    # The start order (``scheduler.order``): the expected duration in seconds, and the
    # priority band its messages carry (0 first).
    predicted_s: Mapped[float | None] = mapped_column(Float)
    priority: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(default=0)
    enqueued_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Outcome of the attempt that finished the job.
    result: Mapped[dict | None]  # agents' outcome (result.json minus paths)
    eval_status: Mapped[str | None] = mapped_column(String(20))  # EvalStatus
    both_passed: Mapped[bool | None] = mapped_column(Boolean)
    merge_status: Mapped[str | None] = mapped_column(String(20))
    cost_usd: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # The two stages' outputs the job stands on: the attempt whose agents' patches count (set
    # once the agents finished, so that a retry or a re-evaluation never re-runs them) and the
    # evaluation of those patches the results come from (the latest one that finished).
    agents_attempt_id: Mapped[int | None] = mapped_column(Integer)
    evaluation_id: Mapped[int | None] = mapped_column(Integer)

    run: Mapped[Run] = relationship(back_populates="jobs")
    attempt_rows: Mapped[list["Attempt"]] = relationship(
        back_populates="job", order_by="Attempt.number"
    )


class Attempt(Base):
    """One delivery that claimed the job. Attempts are never overwritten or deleted."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int]
    fencing_token: Mapped[int]
    host: Mapped[str] = mapped_column(String(255))
    worker: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20))  # AttemptState
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    error_class: Mapped[str | None] = mapped_column(String(20))  # ErrorClass
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[Job] = relationship(back_populates="attempt_rows")
    agent_runs: Mapped[list["AgentRun"]] = relationship(order_by="AgentRun.agent_id")


class AgentRun(Base):
    """What one agent of an attempt did (result.json's ``agents``/``agent`` entries)."""

    __tablename__ = "agent_runs"
    __table_args__ = (UniqueConstraint("attempt_id", "agent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), index=True)
    agent_id: Mapped[str] = mapped_column(String(20))  # agent1 | agent2 | solo
    feature_ids: Mapped[list]
    status: Mapped[str] = mapped_column(String(20))  # Submitted | LimitsExceeded | Error
    steps: Mapped[int]
    cost_usd: Mapped[float | None] = mapped_column(Float)  # None: the model could not be priced
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cache_read_tokens: Mapped[int] = mapped_column(default=0)
    cache_write_tokens: Mapped[int] = mapped_column(default=0)
    messages_sent: Mapped[int] = mapped_column(default=0)
    messages_received: Mapped[int] = mapped_column(default=0)
    patch_lines: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    # Time its model calls waited at the shared provider limits (``agents.provider_limits``).
    provider_wait_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class Evaluation(Base):
    """One evaluation of a job's agent patches: merge (coop) and each feature's tests.

    A job's first evaluation runs inside the job, right after its agents; ``coopbench
    evaluate`` adds more (another test filter, after a fix) without re-running the agents.
    A standalone evaluation is claimed and fenced like a job (see ``claims``).
    """

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("job_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    number: Mapped[int]  # 1, 2, ... per job
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))  # whose patches
    state: Mapped[str] = mapped_column(String(20), index=True)
    test_filter: Mapped[str] = mapped_column(String(20))
    fencing_token: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(300))
    lease_expires_at: Mapped[datetime | None]
    requested_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    host: Mapped[str | None] = mapped_column(String(255))
    worker: Mapped[str | None] = mapped_column(String(300))
    # Outcome (state done): upstream's merge fields, pass/fail, and its evaluation error.
    merge_status: Mapped[str | None] = mapped_column(String(20))
    merge_strategy: Mapped[str | None] = mapped_column(String(20))
    naive_conflict: Mapped[bool | None] = mapped_column(Boolean)
    # Feature id (a string: JSON keys are) -> its tests passed, in the job's feature order.
    feature_results: Mapped[dict | None]
    both_passed: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)  # upstream's eval error, or why it failed

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Worker(Base):
    """A worker process as it reported itself: host, capacity, limits, last sign of life."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)  # Celery's node name
    host: Mapped[str] = mapped_column(String(255))
    concurrency: Mapped[int]
    queues: Mapped[list]
    limits: Mapped[dict]  # max containers, memory and CPUs per container
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime]


class Artifact(Base):
    """A file a job produced (patch, trajectory, test output, eval.json), gzip-compressed."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("attempt_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), index=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    # Set on an evaluation's files, whose names are then "eval/<number>/..." (unique per attempt).
    evaluation_id: Mapped[int | None] = mapped_column(ForeignKey("evaluations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    size_bytes: Mapped[int]
    data_gz: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    @property
    def text(self) -> str:
        return self.inflate(self.data_gz).decode("utf-8")

    @staticmethod
    def inflate(data_gz: bytes) -> bytes:
        """A stored file's bytes. zlib in one call: ``gzip.decompress`` parses the header in
        Python, a third of its time on an export's small files. Data of several gzip members
        (which ``compress`` never writes) still goes to ``gzip``."""
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: a gzip header and trailer
        data = inflater.decompress(data_gz)
        return data if inflater.eof and not inflater.unused_data else gzip.decompress(data_gz)

    @staticmethod
    def compress(text: str) -> tuple[bytes, int]:
        raw = text.encode("utf-8")
        return gzip.compress(raw, compresslevel=6), len(raw)


class RunImage(Base):
    """The bytes a run's jobs run for one task image: the first host to resolve the image
    records it, and every later job of the run, on any host, runs exactly that."""

    __tablename__ = "run_images"

    run_name: Mapped[str] = mapped_column(ForeignKey("runs.name"), primary_key=True)
    image: Mapped[str] = mapped_column(String(300), primary_key=True)  # the name jobs ask for
    # The registry's digest ("<repository>@sha256:...") when the image came from a registry,
    # else the local image id ("sha256:...", an image built on the host).
    digest: Mapped[str] = mapped_column(String(400))
    image_id: Mapped[str] = mapped_column(String(100))
    host: Mapped[str] = mapped_column(String(255))  # who resolved it first
    recorded_at: Mapped[datetime]


class EngineImage(Base):
    """A task image on one Docker engine as coopbench last saw it: pulling, present (and
    whether coopbench pulled it, which makes it a candidate for eviction), failed, removed."""

    __tablename__ = "engine_images"

    engine_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    image: Mapped[str] = mapped_column(String(400), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20))  # EngineImageState
    pulled: Mapped[bool] = mapped_column(Boolean, default=False)
    image_id: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)  # GB images: past 2**31
    progress: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    pull_started_at: Mapped[datetime | None]
    pull_finished_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
