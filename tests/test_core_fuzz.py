"""Property-based tests of the core loaders: any input gives a profile or a clear error, never a crash."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yuqing.exceptions import ProfileError, SettingsError
from yuqing.profile import load_profile, parse_profile
from yuqing.settings import Settings, load_settings

pytestmark = pytest.mark.slow  # property-based fuzzing

REPO = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((REPO / "profiles" / "zezhou-emergency.yaml").read_text(encoding="utf-8"))

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, prefix + (key,)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(_paths(value, prefix + (i,)))
    return out


PATHS = _paths(BASE)


def _set(data: Any, path: tuple, value: Any, delete: bool) -> None:
    for part in path[:-1]:
        data = data[part]
    if delete and isinstance(data, dict):
        data.pop(path[-1], None)
    else:
        data[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), scalars, st.booleans()), min_size=1, max_size=4))
def test_mutated_profiles_load_or_fail_clearly(mutations: list) -> None:
    data = copy.deepcopy(BASE)
    for path, value, delete in mutations:
        try:
            _set(data, path, value, delete)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the parent
    try:
        parse_profile(data, "fuzz.yaml")
    except ProfileError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml: ")
        assert "\n" not in message and "Traceback" not in message


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_profile_file(tmp_path_factory, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("fuzz") / "p.yaml"
    path.write_bytes(raw)
    try:
        load_profile(path)
    except ProfileError as exc:
        assert str(exc).startswith(str(path))
    except UnicodeDecodeError:
        raise AssertionError("invalid UTF-8 must be a ProfileError") from None


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(Settings.model_fields)), st.text(max_size=30))
def test_any_environment_value_loads_or_names_the_key(name: str, value: str) -> None:
    if "\x00" in value:
        return  # the environment cannot hold NUL
    try:
        load_settings(environ={f"YUQING_{name.upper()}": value})
    except SettingsError as exc:
        assert f"YUQING_{name.upper()}" in str(exc)
