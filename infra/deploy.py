"""`make deploy|diff|destroy|smoke STAGE=…`: what to check before the CDK CLI runs, and the smoke check after.

`python -m infra.deploy COMMAND STAGE`. Deploying needs credentials for the stage's partition (an AWS China
account's keys work only in cn-north-1 and cn-northwest-1): they are checked first, so a missing profile
says so in one line instead of a stack trace from deep inside the CLI. A stage marked production is never
destroyed from here.
"""

import argparse

# Runs the pinned CDK CLI only.
import subprocess  # nosec B404
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.cdk.app import stack_ids
from infra.cdk.service_stack import BASE_PATHS
from infra.cdk.stages import Stage, load
from infra.requirements import SERVICES

ROOT = Path(__file__).resolve().parents[1]
CDK = ROOT / "node_modules" / ".bin" / "cdk"


def credentials_problem(stage: Stage) -> str | None:
    """What stops a deployment of the stage with this shell's AWS settings, or None."""
    session = boto3.session.Session(region_name=stage.region)
    if session.get_credentials() is None:
        return (
            f"no AWS credentials for stage {stage.name} ({stage.region}): set AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, for an account in that region's partition"
        )
    try:
        session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return f"AWS credentials rejected in {stage.region} (stage {stage.name}): {error}"
    return None


def cdk(command: str, stage: Stage, *options: str) -> int:
    app = f"{sys.executable} -m infra.cdk.app"
    output = ROOT / "build" / "cdk.out" / stage.name
    arguments = [str(CDK), command, "--all", "--app", app, "-c", f"stage={stage.name}", "--output", str(output)]
    # The pinned CDK CLI with arguments built here, no shell.
    return subprocess.run([*arguments, *options], cwd=ROOT, check=False).returncode  # nosec B603


def smoke(stage: Stage) -> int:
    """Call each service's /health through the stage's address; print who answered. 1 if any did not."""
    cloudformation = boto3.client("cloudformation", region_name=stage.region)
    failed = 0
    for service, stack_name in zip(SERVICES, stack_ids(stage)[1:], strict=True):
        if stage.domain:
            base = f"https://{stage.domain.name}/{BASE_PATHS[service]}/"
        else:
            outputs = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0].get("Outputs", [])
            base = next(output["OutputValue"] for output in outputs if output["OutputKey"] == "ApiUrl")
        url = f"{base}health"
        try:
            # The URL is the stage's own https address from its file, never input.
            with urllib.request.urlopen(url, timeout=10) as response:  # nosec B310
                print(f"{service}: {url} -> {response.status} {response.read(200).decode(errors='replace')}")
        except (urllib.error.URLError, TimeoutError) as error:
            print(f"{service}: {url} -> {error}")
            failed = 1
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("deploy", "diff", "destroy", "smoke"))
    parser.add_argument("stage")
    args = parser.parse_args(argv)
    stage = load(args.stage)
    if args.command == "destroy" and stage.production:
        print(f"stage {stage.name} is marked production: it is not destroyed by make destroy", file=sys.stderr)
        return 2
    problem = credentials_problem(stage)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if args.command == "smoke":
        return smoke(stage)
    return cdk(args.command, stage)


if __name__ == "__main__":
    sys.exit(main())
