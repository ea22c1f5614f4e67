"""``coopbench enqueue``: write a run's jobs to the store and publish them to Celery."""

from pathlib import Path
from typing import Annotated

import typer
import yaml

from coopbench.agents import get_agent
from coopbench.cli.common import console, settings_from
from coopbench.cli.options import (
    DEFAULT_DATASET,
    DatasetOption,
    FeaturesOption,
    RepoOption,
    SubsetOption,
    TaskOption,
    select_pairs,
)
from coopbench.dataset.images.pull import PullPolicy
from coopbench.dataset.tasks import load_tasks
from coopbench.errors import ConfigError
from coopbench.evaluation.deviations import upstream_agent_limits
from coopbench.evaluation.patches import TestFilter
from coopbench.job.setting import AGENT_SETTINGS, parse_settings
from coopbench.sandbox.containers import Network

# Upstream's per-agent budgets, read from its installed default agent's config.
DEFAULT_STEP_LIMIT, DEFAULT_COST_LIMIT_USD = upstream_agent_limits()


def enqueue(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="Run name; enqueueing it again resumes it.")],
    dataset: DatasetOption = DEFAULT_DATASET,
    subset: SubsetOption = None,
    repo: RepoOption = None,
    task: TaskOption = None,
    features: FeaturesOption = None,
    settings: Annotated[str, typer.Option(
        "--settings", help=f"Comma list of {', '.join(AGENT_SETTINGS)}.")] = ",".join(AGENT_SETTINGS),
    agent: Annotated[str, typer.Option(
        help="Agent: mini-swe-agent (an LLM through litellm) or oracle (applies the gold "
        "patches; no LLM).")] = "mini-swe-agent",
    model: Annotated[str | None, typer.Option(
        help="Any litellm model string, e.g. openai/gpt-5-mini, anthropic/claude-sonnet-4-5, "
        "vertex_ai/gemini-3-flash-preview. Provider keys come from the workers' environment.")] = None,
    agent_config: Annotated[Path | None, typer.Option(
        metavar="FILE", help="YAML overriding the agent's settings (limits, prompts, "
        "model_kwargs such as api_base or temperature, model_prices). No secrets: keys go in "
        "the workers' environment.")] = None,
    check_model: Annotated[bool, typer.Option(
        help="Call the model once (a 1-token completion) before writing anything, so that a "
        "bad key or model name stops the run before it spends.")] = True,
    step_limit: Annotated[int, typer.Option(
        min=0, help="LLM calls per agent (0 = off); default upstream's.")] = DEFAULT_STEP_LIMIT,
    cost_limit: Annotated[float, typer.Option(
        min=0, help="USD per agent (0 = off); default upstream's.")] = DEFAULT_COST_LIMIT_USD,
    image_template: Annotated[str | None, typer.Option(
        help="Task image name, e.g. coopbench-demo-{slug}:task{task_id} (env COOPBENCH_IMAGE_TEMPLATE).")] = None,
    sandbox_network: Annotated[Network, typer.Option(
        help="Network of agent and evaluation containers: default (Docker's, as upstream; "
        "task runners install packages at test time) or none (hardening; such runners then "
        "fail, a deliberate difference recorded in the run).")] = Network.default,
    test_filter: Annotated[TestFilter, typer.Option(
        help="Test files dropped from agents' patches before evaluation: upstream (its "
        "filter) or extended (also what CooperBench 0.0.14 dropped; a deliberate "
        "difference recorded in the run).")] = TestFilter.upstream,
    pull: Annotated[PullPolicy, typer.Option(
        help="When workers pull a job's image: missing (if the host lacks it, as upstream's "
        "runner does), always (at the run's first job on each Docker engine), never (only "
        "local images; build them with `coopbench images build`). Every job of the run runs "
        "the digest the first host resolved.")] = PullPolicy.missing,
    cost_cap: Annotated[float | None, typer.Option(
        min=0, help="Stop starting new jobs once the run has spent this many USD (0: no cap). "
        "Given again on a resumed run, it replaces the cap.")] = None,
    force: Annotated[bool, typer.Option(help="Re-run jobs that already finished.")] = False,
) -> None:
    """Enqueue one job per (pair, setting). Re-enqueueing adds only what is missing."""
    from scheduler.enqueue import RunRequest, enqueue_run  # Celery is imported only here

    if not run.strip():
        raise ConfigError("--run must not be empty")
    config = settings_from(ctx)
    chosen = parse_settings(settings)
    overrides = load_agent_config(agent_config)
    chosen_agent = get_agent(agent)
    pairs = select_pairs(dataset, subset, repo, task, features)
    if not pairs:
        raise ConfigError("the selection has no pairs; check --subset/--repo/--task/--features")
    prepare = getattr(chosen_agent, "prepare_run", None)
    if prepare is not None:  # the LLM agent validates its config and checks the model, last
        prepare(model, overrides, call_model=check_model)
    tasks = {(t.repo, t.task_id): t for t in load_tasks(dataset, repo, task)}
    request = RunRequest(
        name=run, dataset=str(dataset.resolve()), pairs=pairs, tasks=tasks, settings=chosen,
        agent=agent, model=model, step_limit=step_limit, cost_limit_usd=cost_limit,
        image_template=image_template or config.image_template,
        sandbox_network=sandbox_network.value, test_filter=test_filter.value, pull=pull.value,
        agent_config=overrides, cost_cap_usd=cost_cap, force=force,
    )
    report = enqueue_run(config, request)
    console.out(  # not print: a run name is not markup and the line must not wrap
        f"run {report.run}: {report.jobs_total} jobs ({report.jobs_added} new, "
        f"{report.jobs_reset} reset, {report.already_finished} already finished, "
        f"{report.running} running), {report.published} published"
    )


def load_agent_config(path: Path | None) -> dict:
    """The ``--agent-config`` YAML as a mapping (upstream's files nest it under ``config:``)."""
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read --agent-config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"--agent-config {path} is not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"--agent-config {path} must be a YAML mapping of settings, "
                          f"not a {type(loaded).__name__}")
    if set(loaded) == {"config"} and isinstance(loaded["config"], dict):
        return loaded["config"]
    return loaded


def register(app: typer.Typer) -> None:
    app.command("enqueue")(enqueue)
