"""One frozen settings tree, loaded from the packaged defaults, an optional YAML file and the environment.

Precedence (later wins): `tiercast/defaults/<section>.yaml` < the file named by `--config` or
`TIERCAST_CONFIG` < environment variables `TIERCAST__<SECTION>__<KEY>[__<KEY>...]`, whose values
are parsed as YAML (so `TIERCAST__TIERS__HIGH_SHARE=0.25` is a float).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from tiercast.errors import ConfigurationError
from tiercast.settings.base import Section
from tiercast.settings.churn import ChurnSettings
from tiercast.settings.evaluation import EvaluationSettings
from tiercast.settings.features import FeaturesSettings
from tiercast.settings.flows import FlowsSettings
from tiercast.settings.generator import GeneratorSettings
from tiercast.settings.inputs import InputsSettings
from tiercast.settings.lifecycle import LifecycleSettings
from tiercast.settings.monitoring import MonitoringSettings
from tiercast.settings.paths import PathsSettings
from tiercast.settings.privacy import PrivacySettings
from tiercast.settings.publish import PublishSettings
from tiercast.settings.retention import RetentionSettings
from tiercast.settings.routing import RoutingSettings
from tiercast.settings.service import ServiceSettings
from tiercast.settings.tiers import TiersSettings
from tiercast.settings.tracking import TrackingSettings
from tiercast.settings.uplift import UpliftSettings
from tiercast.settings.validation import ValidationSettings

ENV_PREFIX = "TIERCAST__"
CONFIG_ENV = "TIERCAST_CONFIG"


class Settings(Section):
    """Every path, seed and business number tiercast uses."""

    paths: PathsSettings
    generator: GeneratorSettings
    inputs: InputsSettings
    validation: ValidationSettings
    features: FeaturesSettings
    tiers: TiersSettings
    lifecycle: LifecycleSettings
    churn: ChurnSettings
    evaluation: EvaluationSettings
    tracking: TrackingSettings
    routing: RoutingSettings
    retention: RetentionSettings
    publish: PublishSettings
    privacy: PrivacySettings
    flows: FlowsSettings
    monitoring: MonitoringSettings
    service: ServiceSettings
    uplift: UpliftSettings


class SettingsError(ConfigurationError, ValueError):
    """A configuration file or environment override that cannot be used."""


def _packaged_defaults() -> dict[str, Any]:
    folder = resources.files("tiercast") / "defaults"
    return {name: yaml.safe_load((folder / f"{name}.yaml").read_text()) or {} for name in Settings.model_fields}


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        node = overrides
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = yaml.safe_load(raw)
    return overrides


def load_settings(config: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Return the settings: packaged defaults, then the YAML file `config` (or $TIERCAST_CONFIG), then env."""
    environ = os.environ if environ is None else environ
    data = _packaged_defaults()
    path = config or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        if not path.is_file():
            raise SettingsError(f"config file {path} does not exist")
        data = _deep_merge(data, yaml.safe_load(path.read_text()) or {})
    data = _deep_merge(data, _env_overrides(environ))
    return Settings.model_validate(data)


def with_mapping(settings: Settings, mapping: str | Path | None) -> Settings:
    """Return `settings` reading inputs through the source mapping `mapping` (made absolute), or unchanged if None."""
    if mapping is None:
        return settings
    inputs = settings.inputs.model_copy(update={"mapping": Path(mapping).resolve()})
    return settings.model_copy(update={"inputs": inputs})


__all__ = ["Settings", "SettingsError", "load_settings", "with_mapping"]
