"""The boundaries of `shared` (pyproject.toml, [tool.importlinter]) as import-linter checks them in `make test`:
the contracts hold on the tree, and a service module that reaches into another service breaks them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its contracts, to break."""
    shutil.copytree(
        ROOT / "shared", tmp_path / "shared", ignore=shutil.ignore_patterns("data", "templates", "__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_contracts_hold_on_the_package(tree: Path) -> None:
    # when import-linter checks the package as it is
    result = lint_imports(tree)
    # then every contract is kept
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("reporting/leak.py", "from shared.routing import router\n", "Services are independent of each other"),
        ("intake/leak.py", "from shared.reporting import stats\n", "Services are independent of each other"),
        ("core/leak.py", "from shared.intake import complaints\n", "The core imports no service"),
    ],
)
def test_an_import_across_a_boundary_breaks_a_contract(tree: Path, module: str, line: str, contract: str) -> None:
    # given a module that imports across a boundary
    (tree / "shared" / module).write_text(line)
    # when import-linter checks the package
    result = lint_imports(tree)
    # then it fails, naming the contract broken
    assert result.returncode == 1
    assert f"{contract} BROKEN" in result.stdout
