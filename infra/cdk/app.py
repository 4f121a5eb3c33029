"""The CDK app of one stage: the resources stack and a stack per service, checked by cdk-nag's AwsSolutions.

`make synth STAGE=…` runs it through the CDK CLI (`cdk synth -c stage=…`), which needs no credentials;
`build()` does the same in-process for the tests.
"""

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import cx_api
from cdk_nag import AwsSolutionsChecks

from infra import package
from infra.cdk.resources_stack import ResourcesStack
from infra.cdk.service_stack import ServiceStack
from infra.cdk.stages import Stage, load
from infra.requirements import SERVICES
from shared.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "build"


def prepare() -> dict[str, dict[str, str]]:
    """Vendor `shared` (and the report font) into each service; returns each service's extra environment.

    Chalice reuses a zip cached under the hash of its inputs whatever built it (a hand-run `chalice deploy`
    leaves one with botocore inside), so the cache starts empty; stages synthesized after this share it.
    """
    stale = package.requirements.stale_services()
    if stale:
        raise SystemExit(f"requirements.txt out of date for {', '.join(stale)}: run `make requirements`")
    extra = {}
    for service in SERVICES:
        service_dir = ROOT / "services" / service
        shutil.rmtree(service_dir / ".chalice" / "deployments", ignore_errors=True)
        package.vendor_shared(service_dir)
        fonts = package.vendor_font(service_dir, Settings()) if service in package.FONT_SERVICES else {}
        extra[service] = fonts
    return extra


@contextlib.contextmanager
def packaging_environment() -> Iterator[None]:
    """requirements.txt holds the whole closure less what Lambda provides: pip must not fetch those again."""
    saved = dict(os.environ)
    os.environ["PIP_NO_DEPS"] = "1"
    # Chalice wants a region; the templates take region and partition from the stack.
    os.environ.setdefault("AWS_DEFAULT_REGION", "cn-northwest-1")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stack_ids(stage: Stage) -> list[str]:
    return [f"{stage.prefix}-resources", *(f"{stage.prefix}-{service}" for service in SERVICES)]


def define(app: cdk.App, stage: Stage, extra_environment: dict[str, dict[str, str]]) -> None:
    # Exports between the stacks of a stage stay until their consumers are gone (CDK's current default).
    app.node.set_context("@aws-cdk/core:defaultCrossStackReferences", "strong")
    # The account comes from the credentials at deploy time; the region from the stage file.
    env = cdk.Environment(region=stage.region)
    resources_id, *service_ids = stack_ids(stage)
    resources = ResourcesStack(app, resources_id, stage=stage, env=env)
    alarm_names = []
    for service, stack_id in zip(SERVICES, service_ids, strict=True):
        # The references to the resources stack's tables, queues and secrets order the deployment.
        service_stack = ServiceStack(
            app,
            stack_id,
            service=service,
            stage=stage,
            res=resources,
            extra_environment=extra_environment[service],
            build_dir=BUILD_DIR,
            env=env,
        )
        alarm_names += service_stack.alarm_names
    resources.add_dashboard(stage, alarm_names)
    cdk.Tags.of(app).add("hotspot:stage", stage.name)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def build(stage: Stage, outdir: Path, extra_environment: dict[str, dict[str, str]]) -> cx_api.CloudAssembly:
    """Synthesize the stage into outdir; `prepare()` must have run in this process."""
    BUILD_DIR.mkdir(exist_ok=True)
    app = cdk.App(outdir=str(outdir), context={"stage": stage.name})
    with packaging_environment():
        define(app, stage, extra_environment)
        return app.synth()


def main() -> None:
    app = cdk.App()
    name = app.node.try_get_context("stage")
    if not name:
        raise SystemExit("no stage: run `make synth STAGE=<stage>` (cdk ... -c stage=<stage>)")
    stage = load(name)
    extra = prepare()
    BUILD_DIR.mkdir(exist_ok=True)
    with packaging_environment():
        define(app, stage, extra)
        app.synth()


if __name__ == "__main__":
    main()
