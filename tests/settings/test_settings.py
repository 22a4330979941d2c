from pathlib import Path

import pytest
from pydantic import ValidationError

from tiercast.settings import Settings, SettingsError, load_settings


def test_defaults_load_and_are_frozen() -> None:
    settings = load_settings(environ={})
    assert isinstance(settings, Settings)
    with pytest.raises(ValidationError):
        settings.paths.raw = Path("elsewhere")  # type: ignore[misc]


def test_file_then_environment_override_in_that_order(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("paths:\n  raw: from/file\n  features: from/file\n")
    settings = load_settings(config, environ={"TIERCAST__PATHS__FEATURES": "from/env"})
    assert settings.paths.raw == Path("from/file")
    assert settings.paths.features == Path("from/env")


def test_config_named_by_environment_is_read(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("paths:\n  raw: via/env/file\n")
    settings = load_settings(environ={"TIERCAST_CONFIG": str(config)})
    assert settings.paths.raw == Path("via/env/file")


def test_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("paths:\n  rwa: oops\n")
    with pytest.raises(ValidationError, match="rwa"):
        load_settings(config, environ={})


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_relative_paths_resolve_against_root(tmp_path: Path) -> None:
    settings = load_settings(environ={"TIERCAST__PATHS__ROOT": str(tmp_path)})
    assert settings.paths.resolve(settings.paths.raw) == tmp_path / "data" / "raw"


@pytest.mark.parametrize("table", ["../etc/passwd", "bills.csv", "Bills", ""])
def test_validation_tables_are_names_never_paths(table: str) -> None:
    with pytest.raises(ValueError, match=r"validation\.tables must be table names"):
        load_settings(environ={"TIERCAST__VALIDATION__TABLES": f"[subscribers, '{table}']"})
