"""Both example stages synthesized once per test session (about 30 s: `chalice package` builds each service's
zip once, the second stage reuses them), as `make synth` would write them."""

import pytest

from infra.cdk import app
from infra.cdk.stages import load
from tests.infra.synth import EXAMPLE_STAGES, Synthesized


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    extra = app.prepare()
    stages = {}
    for name in EXAMPLE_STAGES:
        outdir = tmp_path_factory.mktemp(name)
        stages[name] = Synthesized(load(name), outdir, app.build(load(name), outdir, extra))
    return stages


@pytest.fixture(params=EXAMPLE_STAGES)
def stage(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized[request.param]
