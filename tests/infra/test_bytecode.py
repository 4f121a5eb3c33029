"""The bytecode added to a deployment zip (infra/package.py): read by Lambda's Python without compiling the source
again, whatever the unpacked sources' times, and only for the runtime it was compiled for."""

import marshal
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from infra.package import LAMBDA_TASK_ROOT, add_bytecode

RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag
UNCHECKED_HASH = 0b01  # PEP 552: hash-based, source not checked

# Run by a clean interpreter that writes no bytecode: import the module from the unpacked zip, say what it holds.
READ_MODULE = """
import sys
sys.path.insert(0, sys.argv[1])
import pkg.mod
print(pkg.mod.VALUE)
"""


@pytest.fixture
def deployment_zip(tmp_path: Path) -> Path:
    path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/mod.py", "VALUE = 1\n")
        archive.writestr("pkg/data.json", "{}")
        archive.writestr("vendored/template.py", "def broken(:\n")  # a package's file that is no module
    return path


def test_every_module_of_the_zip_gets_unchecked_bytecode_beside_it(deployment_zip: Path) -> None:
    # when the bytecode is added
    added = add_bytecode(deployment_zip, RUNTIME)
    # then each module that compiles has its .pyc for this interpreter, hash-based and unchecked, and nothing else
    with zipfile.ZipFile(deployment_zip) as archive:
        names = set(archive.namelist())
        header = archive.read(f"pkg/__pycache__/mod.{TAG}.pyc")[:8]
    assert added == 2
    assert {name for name in names if name.endswith(".pyc")} == {
        f"pkg/__pycache__/__init__.{TAG}.pyc",
        f"pkg/__pycache__/mod.{TAG}.pyc",
    }
    assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH


def test_the_unpacked_zip_runs_its_bytecode_not_its_source(deployment_zip: Path, tmp_path: Path) -> None:
    # given the zip with its bytecode, unpacked, and a source changed after compiling (as a bytecode the
    # interpreter checked against its source would then be compiled again)
    add_bytecode(deployment_zip, RUNTIME)
    unpacked = tmp_path / "task"
    with zipfile.ZipFile(deployment_zip) as archive:
        archive.extractall(unpacked)
    (unpacked / "pkg" / "mod.py").write_text("VALUE = 2\n")
    # when a clean interpreter that writes no bytecode imports the module
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", READ_MODULE, str(unpacked)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then it ran the zip's bytecode
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_the_same_sources_give_the_same_zip(deployment_zip: Path, tmp_path: Path) -> None:
    # given two copies of one zip
    again = tmp_path / "again.zip"
    shutil.copyfile(deployment_zip, again)
    # when each gets its bytecode, in temporary folders of their own, further apart than a zip's two-second clock
    add_bytecode(deployment_zip, RUNTIME)
    time.sleep(2.1)
    add_bytecode(again, RUNTIME)
    # then the zips are byte for byte the same (so CDK's asset, hashed from them, changes only with the code), and
    # the bytecode names its source where Lambda unpacks the zip
    assert deployment_zip.read_bytes() == again.read_bytes()
    with zipfile.ZipFile(again) as archive:
        code = marshal.loads(archive.read(f"pkg/__pycache__/mod.{TAG}.pyc")[16:])
    assert code.co_filename == f"{LAMBDA_TASK_ROOT}/pkg/mod.py"


def test_bytecode_for_another_runtime_is_refused(deployment_zip: Path) -> None:
    # when the functions run another Python than the one compiling
    other = f"python{sys.version_info.major}.{sys.version_info.minor + 1}"
    # then nothing is added and the packaging stops
    with pytest.raises(SystemExit, match=other):
        add_bytecode(deployment_zip, other)
    with zipfile.ZipFile(deployment_zip) as archive:
        assert not [name for name in archive.namelist() if name.endswith(".pyc")]
