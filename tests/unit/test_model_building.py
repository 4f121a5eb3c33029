"""The project's pydantic models build their validators when first used (shared/core/base.py): importing an app
builds none but the settings it reads at import, and a model built later validates as any other."""

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

import shared
from shared.core.base import Model

ROOT = Path(__file__).resolve().parents[2]

# Run by a fresh interpreter: import the app as its functions do, then name the project's models built so far.
BUILT_AT_IMPORT = """
import importlib.util, json, sys
import pydantic
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("app", sys.argv[1] + "/app.py")
spec.loader.exec_module(importlib.util.module_from_spec(spec))

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

ours = {model for model in subclasses(pydantic.BaseModel) if model.__module__.startswith("shared.")}
print(json.dumps({"imported": len(ours), "built": sorted(m.__name__ for m in ours if m.__pydantic_complete__)}))
"""


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(sub) for sub in found)) if found else found


def test_every_model_of_the_project_is_deferred() -> None:
    # given every module of the shared package imported
    for module in pkgutil.walk_packages(shared.__path__, "shared."):
        importlib.import_module(module.name)
    # when its pydantic models are listed
    ours = {model for model in _subclasses(BaseModel) if model.__module__.startswith("shared.")}
    # then each derives from the deferred base, so that none is built at import
    assert len(ours) > 100
    assert sorted(model.__qualname__ for model in ours if not issubclass(model, Model)) == []
    assert all(model.model_config.get("defer_build") for model in ours)


@pytest.mark.parametrize("service", ["intake", "routing", "reporting"])
def test_importing_an_app_builds_only_the_settings(service: str) -> None:
    # when a fresh interpreter imports the service's app, as a cold start does
    result = subprocess.run(
        [sys.executable, "-c", BUILT_AT_IMPORT, str(ROOT / "services" / service)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # then of the project's models it imported, only the settings (read at import) were built
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["imported"] > 10
    assert found["built"] == ["Settings"]


def test_a_deferred_model_validates_on_first_use() -> None:
    # given a model of the deferred base, not yet used
    class Complaint(Model):
        description: str
        files: list[str] = Field(default_factory=list)

    assert not Complaint.__pydantic_complete__
    # when it is first used, then it validates, refuses and dumps as any model
    dumped = Complaint.model_validate({"description": "执法粗暴"}).model_dump()
    assert dumped == {"description": "执法粗暴", "files": []}
    with pytest.raises(ValidationError):
        Complaint.model_validate({"files": "x"})
    assert Complaint.__pydantic_complete__
