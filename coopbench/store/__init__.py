"""The SQL store: the source of truth of every run, job, attempt and artefact."""

from coopbench.store.engine import Store, utcnow
from coopbench.store.models import (
    AgentRun,
    Artifact,
    Attempt,
    EngineImage,
    Evaluation,
    Job,
    Run,
    RunImage,
    TaskFeature,
    Worker,
)
from coopbench.store.states import EvaluationState, JobState

__all__ = [
    "AgentRun", "Artifact", "Attempt", "EngineImage", "Evaluation", "EvaluationState", "Job",
    "JobState", "Run", "RunImage", "Store", "TaskFeature", "Worker", "utcnow",
]
