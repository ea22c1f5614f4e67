"""``coopbench enqueue``: write a run's jobs to the store and publish them to Celery."""

from pathlib import Path
from typing import Annotated

import typer
import yaml

from coopbench.agents import DEFAULT_AGENT, get_agent, is_hosted
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
from coopbench.job.setting import AGENT_SETTINGS, ENQUEUED_SETTINGS, Setting, parse_settings, setting_row
from coopbench.sandbox.containers import Network
from coopbench.secrets import secret_keys
from scheduler.order import StartOrder

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
        "--settings", help=f"Comma list of {', '.join(ENQUEUED_SETTINGS)}.")] = ",".join(AGENT_SETTINGS),
    agent: Annotated[str, typer.Option(
        help="Agent: any of upstream's adapters (cooperbench.agents.registry.list_agents(): "
        "mini_swe_agent_v2, swe_agent, claude_code, codex, openhands_sdk), oracle (applies "
        "the gold patches; no LLM) or mini-swe-agent (coopbench's earlier re-write; its "
        "numbers do not compare with upstream's).")] = DEFAULT_AGENT,
    model: Annotated[str | None, typer.Option(
        help="Any litellm model string, e.g. openai/gpt-5-mini, anthropic/claude-sonnet-4-5, "
        "vertex_ai/gemini-3-flash-preview. Provider keys come from the workers' environment.")] = None,
    agent_config: Annotated[Path | None, typer.Option(
        metavar="FILE", help="YAML overriding the agent's settings: for upstream's adapters, "
        "upstream's own files as they are (e.g. its coop.yaml: agent, model, environment); "
        "for mini-swe-agent, its settings. No secrets: keys go in the workers' environment.")] = None,
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
    repeats: Annotated[int, typer.Option(
        min=1, help="Run each (pair, setting) this many times, as separate jobs; the manifest "
        "and report then give intervals and pass@k. Enqueued again with a larger K, the run "
        "gains the missing repeats.")] = 1,
    force: Annotated[bool, typer.Option(help="Re-run jobs that already finished.")] = False,
    order: Annotated[StartOrder, typer.Option(
        help="Which queued job a free worker takes: longest-first (expected duration, from "
        "earlier runs in the store or a prior; on every host) or discovery (the selection's "
        "order, pair by pair, first in first out).")] = StartOrder.longest_first,
    team_no_task_list: Annotated[bool, typer.Option(
        "--team-no-task-list", help="(team) no shared task list, pre-seeding or metrics.")] = False,
    team_no_scratchpad: Annotated[bool, typer.Option(
        "--team-no-scratchpad", help="(team) no shared /workspace/shared volume.")] = False,
    team_no_mcp: Annotated[bool, typer.Option(
        "--team-no-mcp", help="(team) no MCP wait_for_message in CLI agents' configs.")] = False,
    team_no_auto_refresh: Annotated[bool, typer.Option(
        "--team-no-auto-refresh", help="(team) no task-list summary injected each step.")] = False,
    team_no_protocol: Annotated[bool, typer.Option(
        "--team-no-protocol", help="(team) no typed coop-request/respond/pending verbs.")] = False,
) -> None:
    """Enqueue one job per (pair, setting, repeat). Re-enqueueing adds only what is missing."""
    from scheduler.enqueue import RunRequest, enqueue_run  # Celery is imported only here

    if not run.strip():
        raise ConfigError("--run must not be empty")
    config = settings_from(ctx)
    chosen = parse_settings(settings)
    document = load_agent_config(agent_config)
    chosen_agent = get_agent(agent)
    pairs = select_pairs(dataset, subset, repo, task, features)
    if not pairs:
        raise ConfigError("the selection has no pairs; check --subset/--repo/--task/--features")
    overrides = check_agent_run(chosen_agent, chosen, model, document, sandbox_network,
                                step_limit, cost_limit, check_model)
    tasks = {(t.repo, t.task_id): t for t in load_tasks(dataset, repo, task)}
    request = RunRequest(
        name=run, dataset=str(dataset.resolve()), pairs=pairs, tasks=tasks, settings=chosen,
        agent=agent, model=model, step_limit=step_limit, cost_limit_usd=cost_limit,
        image_template=image_template or config.image_template,
        sandbox_network=sandbox_network.value, test_filter=test_filter.value, pull=pull.value,
        agent_config=overrides, cost_cap_usd=cost_cap, force=force, order=order, repeats=repeats,
        team_features=team_switches(team_no_task_list=team_no_task_list,
                                    team_no_scratchpad=team_no_scratchpad, team_no_mcp=team_no_mcp,
                                    team_no_auto_refresh=team_no_auto_refresh,
                                    team_no_protocol=team_no_protocol),
    )
    report = enqueue_run(config, request)
    console.out(  # not print: a run name is not markup and the line must not wrap
        f"run {report.run}: {report.jobs_total} jobs ({report.jobs_added} new, "
        f"{report.jobs_reset} reset, {report.already_finished} already finished, "
        f"{report.running} running), {report.published} published"
    )


def check_agent_run(chosen_agent, settings: list[Setting], model: str | None, document: dict,
                    network: Network, step_limit: int, cost_limit: float,
                    call_model: bool) -> dict:
    """Refuse what the agent cannot run, before anything is written; the agent config as
    the run stores it. Upstream's adapters get their --agent-config document as it is."""
    if is_hosted(chosen_agent):
        chosen_agent.check_run(model, network)
        if (step_limit, cost_limit) != (DEFAULT_STEP_LIMIT, DEFAULT_COST_LIMIT_USD):
            raise ConfigError(f"--agent {chosen_agent.name} takes its limits from its config, as "
                              "upstream's runner does: set agent: {step_limit: N, cost_limit: "
                              "USD} in --agent-config instead of --step-limit/--cost-limit")
        networked = [s for s in settings if setting_row(s).shared_git or setting_row(s).team]
        if networked and network is Network.none:
            raise ConfigError(f"{networked[0]} needs a network in the agents' containers (coop-git: "
                              "its git server; team: its task-list CLI, installed at start); "
                              "--sandbox-network none cannot run it")
        secrets = secret_keys(document)
        if secrets:
            raise ConfigError(f"the agent config holds what looks like a secret "
                              f"({', '.join(sorted(secrets))}); set keys in the workers' environment")
        if call_model:  # the model answering, through litellm with the config's model_kwargs
            from coopbench.agents.mini_swe import check_model as ping_model

            ping_model(model, {"model_kwargs": upstream_model_kwargs(document)})
        return document
    hosted_only = [s for s in settings if setting_row(s).hosted_only]
    if hosted_only:
        raise ConfigError(f"setting {hosted_only[0]} needs one of upstream's adapters (its git "
                          f"connector), not --agent {getattr(chosen_agent, 'name', '')}")
    overrides = unnest_config(document)
    prepare = getattr(chosen_agent, "prepare_run", None)
    if prepare is not None:  # the LLM agent validates its config and checks the model, last
        prepare(model, overrides, call_model=call_model)
    return overrides


def team_switches(**off: bool) -> dict:
    """Upstream's --team-no-* flags as the switches the run records: only those turned off
    (an empty record is upstream's default, every switch on)."""
    return {name.removeprefix("team_no_"): False for name, is_off in off.items() if is_off}


def upstream_model_kwargs(document: dict) -> dict:
    config = unnest_config(document)
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    return dict(model.get("model_kwargs") or {})


def unnest_config(document: dict) -> dict:
    """Upstream's files may nest their settings under ``config:``."""
    if set(document) == {"config"} and isinstance(document["config"], dict):
        return document["config"]
    return document


def load_agent_config(path: Path | None) -> dict:
    """The ``--agent-config`` YAML document, as a mapping."""
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
    return loaded


def register(app: typer.Typer) -> None:
    app.command("enqueue")(enqueue)
