"""Settings resolution: flag > environment > config file > default."""

from pathlib import Path

import pytest

from coopbench.config import load_settings, settings_table
from coopbench.errors import ConfigError


def test_precedence_flag_env_file_default(tmp_path, monkeypatch):
    config = tmp_path / "coopbench.toml"
    config.write_text('database_url = "sqlite:///file.db"\nbroker_url = "redis://file:6379/0"\n'
                      'bus_url = "redis://bus:6379/1"\n')
    monkeypatch.setenv("COOPBENCH_CONFIG", str(config))
    monkeypatch.setenv("COOPBENCH_BROKER_URL", "redis://env:6379/0")
    settings = load_settings(database_url="sqlite:///flag.db")
    assert settings.database_url == "sqlite:///flag.db"
    assert settings.broker_url == "redis://env:6379/0"
    assert settings.bus_url == "redis://bus:6379/1"
    assert settings.lease_s == 60.0


def test_bus_defaults_to_the_broker(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COOPBENCH_CONFIG", raising=False)
    monkeypatch.setenv("COOPBENCH_BROKER_URL", "redis://b:1/2")
    assert load_settings().resolved_bus_url == "redis://b:1/2"


def test_unknown_key_in_config_file_is_an_error(tmp_path, monkeypatch):
    config = tmp_path / "c.toml"
    config.write_text('databse_url = "sqlite:///typo.db"\n')
    monkeypatch.setenv("COOPBENCH_CONFIG", str(config))
    with pytest.raises(ConfigError, match="databse_url"):
        load_settings()


def test_missing_config_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COOPBENCH_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="nope.toml"):
        load_settings()


def test_the_readme_documents_every_setting():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [f"{name} ({variable})" for name, variable, _ in settings_table()
               if f"| `{name}` | `{variable}` |" not in readme]
    assert missing == [], "settings missing from the README's table"
