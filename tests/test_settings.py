"""Typed settings: defaults, file, environment, and clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.settings import SettingsError, load_settings


def test_defaults_without_file_or_environment() -> None:
    settings = load_settings(env={})
    assert (settings.esl.host, settings.esl.port, settings.esl.password) == (
        "127.0.0.1",
        8021,
        "ClueCon",
    )
    assert settings.sim.esl_port == 8021


def test_file_then_environment_override(tmp_path: Path) -> None:
    config = tmp_path / "center.toml"
    config.write_text('[esl]\nport = 9000\npassword = "s3cret"\n[sim]\ntime_scale = 0.5\n')
    settings = load_settings(config, env={"CALLCENTER_ESL__PORT": "9100"})
    assert settings.esl.port == 9100
    assert settings.esl.password == "s3cret"
    assert settings.sim.time_scale == 0.5


def test_xmlcurl_section_defaults_file_and_environment(tmp_path: Path) -> None:
    defaults = load_settings(env={}).xmlcurl
    assert (defaults.host, defaults.port, defaults.username, defaults.password) == (
        "127.0.0.1",
        8081,
        "freeswitch",
        "change-me",
    )
    config = tmp_path / "center.toml"
    config.write_text('[xmlcurl]\nhost = "0.0.0.0"\nport = 8090\npassword = "from-file"\n')
    settings = load_settings(config, env={"CALLCENTER_XMLCURL__PASSWORD": "from-env"}).xmlcurl
    assert (settings.host, settings.port, settings.username, settings.password) == (
        "0.0.0.0",
        8090,
        "freeswitch",
        "from-env",
    )
    config.write_text("[xmlcurl]\nport = 70000\n")
    with pytest.raises(SettingsError, match=r"xmlcurl\.port \(or CALLCENTER_XMLCURL__PORT\)"):
        load_settings(config, env={})


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[logging]\nlevel = "DEBUG"\n')
    assert load_settings(env={"CALLCENTER_CONFIG": str(config)}).logging.level == "DEBUG"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"nope\.toml: configuration file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_broken_toml_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[esl\nport = 1\n")
    with pytest.raises(SettingsError, match=r"bad\.toml: not valid TOML"):
        load_settings(config, env={})


def test_bad_values_name_field_and_variable(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[esl]\nport = 70000\nbogus = 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config, env={"CALLCENTER_SIM__TIME_SCALE": "-1"})
    text = str(info.value)
    assert "esl.port (or CALLCENTER_ESL__PORT)" in text
    assert "esl.bogus" in text
    assert "sim.time_scale (or CALLCENTER_SIM__TIME_SCALE)" in text
    assert "c.toml" in text


def test_the_shared_dir_variable_is_not_a_setting() -> None:
    # The tests' and benchmarks' CALLCENTER_SHARED_DIR must not break every command.
    env = {"CALLCENTER_SHARED_DIR": "/somewhere/shared", "CALLCENTER_REDIS_URL": "redis://x:1/2"}
    assert load_settings(env=env).redis_url == "redis://x:1/2"
    with pytest.raises(SettingsError, match="shard_dir"):
        load_settings(env={"CALLCENTER_SHARD_DIR": "/typo"})
