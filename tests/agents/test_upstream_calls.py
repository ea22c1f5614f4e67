"""The call each coop or team agent gets: upstream's spawn functions (``runner/coop.py``
``_spawn_agent``, ``runner/team.py`` ``_spawn_team_agent``) given the arguments their
runners compute for each combination of ``--git`` and ``--no-messaging``, against
coopbench's ``coop_call`` for the same setting. Only the image and the log folder differ."""

import pytest

from coopbench.agents.upstream.calls import TeamCall, coop_call
from coopbench.job.setting import Channel, setting_row
from tests.conftest import FIXTURES
from tests.support.real_task import REPO, TASK_ID, read_feature

AGENTS = ["agent1", "agent2"]
URL = "redis://bus:6379#run:job.1"  # <bus>#run:<namespace>, as both runners build it
GIT_URL, GIT_NETWORK = "git://git-server:9418/repo.git", "net-1"


class Recorder:
    """Stands in for the adapter: keeps what it was called with."""

    def __init__(self):
        self.calls: list[dict] = []

    def run(self, **kwargs):
        self.calls.append(kwargs)
        raise StopIteration  # the call is all this test needs


def upstream_kwargs(monkeypatch, setting: str, agent_id: str) -> dict:
    """What upstream's runner hands the adapter of ``agent_id`` for ``setting``."""
    from cooperbench.runner import coop, team
    from cooperbench.team_harness import TeamHarnessConfig

    row = setting_row(setting)
    recorder = Recorder()
    module = team if row.team else coop
    monkeypatch.setattr(module, "get_runner", lambda name: recorder)
    messaging = row.channel is Channel.bus
    common = dict(repo_name=REPO, task_id=TASK_ID, feature_id=2, agent_name="mini_swe_agent_v2",
                  model_name="m", agent_id=agent_id, agents=AGENTS,
                  # both runners: the agents get the URL only with messaging and company
                  redis_url=URL if messaging and len(AGENTS) > 1 else None,
                  git_server_url=GIT_URL if row.shared_git else None,
                  git_enabled=row.shared_git, git_network=GIT_NETWORK if row.shared_git else None,
                  messaging_enabled=messaging, quiet=True, backend="docker", agent_config=None,
                  run_name=None, features=None, dataset_dir=FIXTURES, logs_dir=None)
    with pytest.raises(StopIteration):
        if row.team:
            team._spawn_team_agent(**common, team_role="lead" if agent_id == "agent1" else "member",
                                   team_id="job.1", team_volume="vol", task_list_url=URL,
                                   team_features=TeamHarnessConfig())
        else:
            coop._spawn_agent(**common)
    [kwargs] = recorder.calls
    return kwargs


@pytest.mark.parametrize("setting", ["coop", "coop-nocomm", "coop-git", "coop-git-nocomm",
                                     "team", "team-git", "team-nocomm", "team-git-nocomm"])
@pytest.mark.parametrize("agent_id", AGENTS)
def test_each_agent_is_called_as_upstreams_runner_calls_it(monkeypatch, setting, agent_id):
    from cooperbench.team_harness import TeamHarnessConfig

    row = setting_row(setting)
    ours = coop_call(
        read_feature(FIXTURES, 2, "feature.md"), "img", agent_id, AGENTS, "m", messaging_url=URL,
        git_server_url=GIT_URL if row.shared_git else None,
        git_network=GIT_NETWORK if row.shared_git else None, git_enabled=row.shared_git,
        messaging_enabled=row.channel is Channel.bus, agent_config=None, log_dir=None,
        team=TeamCall(volume="vol", features=TeamHarnessConfig()) if row.team else None).kwargs()
    theirs = upstream_kwargs(monkeypatch, setting, agent_id)
    assert theirs.pop("image").endswith(f":task{TASK_ID}") and ours.pop("image") == "img"
    assert ours == theirs
