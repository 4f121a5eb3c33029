"""What the infra tests read from a synthesized stage."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import cx_api

from infra.cdk.stages import Stage

EXAMPLE_STAGES = ("china-example", "global-example")


@dataclass(frozen=True)
class Synthesized:
    stage: Stage
    outdir: Path
    assembly: cx_api.CloudAssembly

    def templates(self) -> dict[str, dict[str, Any]]:
        """Stack name -> template."""
        return {stack.stack_name: stack.template for stack in self.assembly.stacks}

    def template(self, part: str) -> dict[str, Any]:
        """The template of `resources` or a service's stack."""
        return self.templates()[f"{self.stage.prefix}-{part}"]

    def template_path(self, part: str) -> Path:
        return self.outdir / f"{self.stage.prefix}-{part}.template.json"

    def functions(self, service: str) -> dict[str, dict[str, Any]]:
        resources = self.template(service)["Resources"]
        return {key: value for key, value in resources.items() if value["Type"] == "AWS::Serverless::Function"}

    def zip_path(self, service: str) -> Path:
        """The service's deployment zip, the asset CDK uploads for its functions."""
        [key] = {function["Properties"]["CodeUri"]["Key"] for function in self.functions(service).values()}
        return self.outdir / f"asset.{key}"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
