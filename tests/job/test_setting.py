"""Job identity, agent assignment and the settings table: a setting is a row of ``SETTINGS``,
read for any number of features."""

from pathlib import Path

import pytest

from coopbench.dataset.tasks import group_dir_name, group_label
from coopbench.errors import ConfigError
from coopbench.export.run_export import job_dir
from coopbench.job.setting import (
    AGENT_SETTINGS,
    ENQUEUED_SETTINGS,
    SETTINGS,
    Channel,
    Harness,
    Setting,
    assignments,
    job_id,
    parse_settings,
    setting_row,
)
from coopbench.job.setting import AgentAssignment as Assignment
from coopbench.job.setting import Assignment as AssignmentKind
from coopbench.store import Job


def test_job_id_is_deterministic_and_distinguishes_every_part():
    base = job_id("run", "ledger_task", 0, (1, 2), "coop")
    assert base == job_id("run", "ledger_task", 0, (1, 2), "coop")
    others = {
        job_id("run2", "ledger_task", 0, (1, 2), "coop"),
        job_id("run", "textkit_task", 0, (1, 2), "coop"),
        job_id("run", "ledger_task", 1, (1, 2), "coop"),
        job_id("run", "ledger_task", 0, (1, 3), "coop"),
        job_id("run", "ledger_task", 0, (1, 2), "solo"),
    }
    assert base not in others and len(others) == 5


def test_agent1_gets_the_lower_feature_and_solo_keeps_the_given_order():
    assert assignments("coop", (7, 3)) == [Assignment("agent1", (3,)), Assignment("agent2", (7,))]
    assert assignments("coop-nocomm", (1, 2))[1] == Assignment("agent2", (2,))
    assert assignments("solo", (7, 3)) == [Assignment("solo", (7, 3))]


def test_settings_are_parsed_with_a_clear_error():
    assert parse_settings("solo, coop,coop-nocomm,solo") == [Setting.solo, Setting.coop,
                                                             Setting.coop_nocomm]
    assert parse_settings("coop-git,team") == [Setting.coop_git, Setting.team]
    with pytest.raises(ConfigError, match="unknown setting 'teams'.*solo, coop, coop-nocomm, coop-git, "
                                          "coop-git-nocomm, team, team-git, team-nocomm, team-git-nocomm"):
        parse_settings("solo,teams")
    with pytest.raises(ConfigError, match="unknown setting 'gold'"):  # gold-check's, not enqueue's
        parse_settings("gold")
    with pytest.raises(ConfigError, match="no setting"):
        parse_settings(" , ")


def test_every_setting_has_one_row_and_enqueue_offers_the_agent_settings():
    assert set(SETTINGS) == set(Setting)
    assert AGENT_SETTINGS == (Setting.solo, Setting.coop, Setting.coop_nocomm)  # the default
    assert ENQUEUED_SETTINGS == (*AGENT_SETTINGS, Setting.coop_git, Setting.coop_git_nocomm,
                                 Setting.team, Setting.team_git, Setting.team_nocomm,
                                 Setting.team_git_nocomm)
    git, team = setting_row("coop-git"), setting_row("team")
    assert (git.channel, git.shared_git, git.hosted_only, git.layout_name) == (Channel.bus, True, True, "coop")
    assert (team.channel, team.team, team.hosted_only, team.layout_name) == (Channel.bus, True, True, "team")
    assert setting_row("coop").channel is Channel.bus
    assert setting_row("coop-nocomm").channel is Channel.none
    assert setting_row("gold").harness is Harness.gold_merge
    assert [setting_row(s).layout_name for s in ("solo", "coop", "coop-nocomm")] == ["solo", "coop", "coop"]
    with pytest.raises(ConfigError, match="unknown setting 'teams'"):
        setting_row("teams")


@pytest.mark.parametrize("features", [(5, 2, 9), (4, 1, 3, 2)])
def test_one_agent_per_feature_for_any_number_of_features(features):
    plan = assignments("coop", features)
    assert [a.agent_id for a in plan] == [f"agent{i}" for i in range(1, len(features) + 1)]
    assert [a.feature_ids for a in plan] == [(fid,) for fid in sorted(features)]
    assert assignments("solo", features)[0].feature_ids == features
    assert SETTINGS[Setting.solo].assignment is AssignmentKind.all_to_one


def test_a_group_has_one_folder_name_and_one_label():
    assert group_dir_name((9, 2, 5)) == "f2_f5_f9"
    assert group_label("ledger_task", 0, [2, 1]) == "ledger_task/0 f1_f2"
    job = Job(id="j", repo="ledger_task", task_id=0, features=[3, 1, 2], setting="coop")
    assert job_dir("run", job) == Path("run-coop/coop/ledger_task/0/f1_f2_f3")


# upstream's `cooperbench run --setting S [--git] [--no-messaging]` for each coopbench setting
UPSTREAM_FLAGS = {
    "coop": ("coop", False, True), "coop-nocomm": ("coop", False, False),
    "coop-git": ("coop", True, True), "coop-git-nocomm": ("coop", True, False),
    "team": ("team", False, True), "team-nocomm": ("team", False, False),
    "team-git": ("team", True, True), "team-git-nocomm": ("team", True, False),
}


def test_every_combination_of_upstreams_setting_and_flags_is_one_setting():
    multi = {row.setting.value: row for row in SETTINGS.values()
             if row.multi_agent and row.setting is not Setting.gold}
    assert set(multi) == set(UPSTREAM_FLAGS)
    for name, (setting, git, messaging) in UPSTREAM_FLAGS.items():
        row = multi[name]
        assert (row.layout_name, row.team, row.shared_git, row.channel is Channel.bus) == (
            setting, setting == "team", git, messaging), name
        assert row.hosted_only is (git or row.team), name  # upstream's git connector, harness
