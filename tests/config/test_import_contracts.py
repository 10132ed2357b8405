"""The import contracts in pyproject.toml hold, and an upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ["common", "accounts", "payments", "shop", "creators", "orders", "commissions"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _scratch_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for app in [*APPS, "config"]:
        if (ROOT / app).is_dir():
            shutil.copytree(
                ROOT / app, copy / app, ignore=shutil.ignore_patterns("__pycache__", "templates")
            )
    return copy


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return _scratch_copy(tmp_path)


def test_contracts_hold_on_the_tree_as_committed(tree: Path) -> None:
    result = _lint_imports(tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_inside_a_function_breaks_the_layers_contract(tree: Path) -> None:
    money = tree / "common" / "money.py"
    money.write_text(
        money.read_text() + "\n\ndef _upward() -> None:\n    from orders import models  # noqa\n"
    )

    result = _lint_imports(tree)

    assert result.returncode != 0
    assert "common is not allowed to import orders" in result.stdout
    assert "common.money -> orders.models" in result.stdout


def test_a_cycle_inside_an_app_breaks_the_acyclic_contract(tree: Path) -> None:
    money = tree / "common" / "money.py"
    money.write_text(money.read_text() + "\nfrom common import idempotency  # noqa\n")
    idempotency = tree / "common" / "idempotency.py"
    idempotency.write_text(idempotency.read_text() + "\nfrom common import money  # noqa\n")

    result = _lint_imports(tree)

    assert result.returncode != 0
    assert "No cycles are allowed in common" in result.stdout
