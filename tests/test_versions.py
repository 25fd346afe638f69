"""What the package says it supports is what ``noxfile.py`` tests: classifiers, README, and the
pairs ``make test`` runs in full."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import django

REPOSITORY = Path(__file__).resolve().parent.parent


def noxfile_constant(name: str) -> object:
    tree = ast.parse((REPOSITORY / "noxfile.py").read_text())
    for node in tree.body:
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            assert node.value is not None
            return ast.literal_eval(node.value)
    raise AssertionError(f"noxfile.py has no {name}")


SUPPORTED: dict[str, tuple[str, ...]] = noxfile_constant("SUPPORTED")  # type: ignore[assignment]


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


PYTHONS = sorted({p for pythons in SUPPORTED.values() for p in pythons}, key=version_key)


def test_the_classifiers_name_exactly_the_tested_pythons_and_djangos() -> None:
    pyproject = (REPOSITORY / "pyproject.toml").read_text()
    djangos = set(re.findall(r'"Framework :: Django :: ([\d.]+)"', pyproject))
    pythons = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    assert djangos == set(SUPPORTED)
    assert pythons == set(PYTHONS)
    assert f'requires-python = ">={PYTHONS[0]}"' in pyproject


def test_the_full_runs_are_the_newest_and_the_oldest_pair() -> None:
    newest, oldest = noxfile_constant("NEWEST"), noxfile_constant("OLDEST")
    pairs = [(p, d) for d, pythons in SUPPORTED.items() for p in pythons]

    def order(pair: tuple[str, str]) -> tuple[tuple[int, ...], ...]:
        return tuple(version_key(version) for version in pair)

    assert newest == max(pairs, key=order)
    assert oldest == min(pairs, key=order)


def test_the_readme_table_of_supported_versions_is_the_tested_one() -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| Django ([\d.]+)(?: LTS)? \| Python ([\d., ]+) \|$", readme, re.M)
    assert {django: tuple(pythons.split(", ")) for django, pythons in rows} == SUPPORTED


def test_this_run_is_on_a_supported_pair() -> None:
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    feature = ".".join(django.get_version().split(".")[:2])
    assert python in PYTHONS
    if feature in SUPPORTED:
        assert python in SUPPORTED[feature], (python, feature)
