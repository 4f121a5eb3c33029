"""What `make package` builds: templates that deploy in every partition and zips that run on Lambda.

The build runs once for the module, into a temporary directory. `chalice package` downloads Linux wheels
(pydantic_core) from PyPI, so these tests need the package index; a build takes well under a minute once
pip's cache is warm. Each zip is imported by a fresh interpreter that sees only the zip's contents and the
modules the Lambda Python runtime provides, as Lambda would.
"""

import json
import subprocess
import sys
import zipfile
from importlib.metadata import distribution
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from infra import requirements
from infra.package import SECRETS, default_settings, functions
from infra.resources import FUNCTION_TIMEOUT_SECONDS, MAIL_PREFIX, MAX_RECEIVE_COUNT, dead_letter_queue, queues
from shared.core.settings import Settings
from tests.report_sample import sample_document

ROOT = Path(__file__).resolve().parents[2]
SERVICES = requirements.SERVICES
STAGES = ("dev", "prod")

# Routes and event handlers each app must keep (it may add more).
ROUTES = {
    "intake": {
        ("/complaints", "POST"),
        ("/complaints/{tracking_no}", "GET"),
        ("/health", "GET"),
        ("/", "GET"),
        ("/", "POST"),
        ("/status", "GET"),
        ("/uploads", "POST"),
        ("/openapi.json", "GET"),
        ("/cases/published", "GET"),
        ("/cases/published.json", "GET"),
    },
    "routing": {("/health", "GET"), ("/auth/login", "POST"), ("/auth/jwks.json", "GET"), ("/auth/me", "GET")},
    "reporting": {("/", "GET"), ("/", "POST"), ("/health", "GET"), ("/hotspots", "GET"), ("/materials", "GET")},
}
EVENT_HANDLERS = {
    "intake": set(),
    "routing": {"route_complaint", "send_notifications", "remind_deadlines"},
    "reporting": {
        "count_case_events",
        "generate_weekly_reports",
        "generate_phase_reports",
        "detect_hotspots",
        "remind_materials",
    },
}

# Run by a clean interpreter: put the unzipped package and the runtime's modules on the path, import the
# app as Lambda does and say what it found.
IMPORT_APP = """
import json, sys
sys.path[:0] = sys.argv[1:3]
import app
import aws_xray_sdk.core  # what Tracer imports once tracing is enabled
import chalice
import jwt, cryptography.hazmat.primitives.asymmetric.ec  # what shared.auth imports on the first staff request
print(json.dumps({
    "is_chalice_app": isinstance(app.app, chalice.Chalice),
    "handlers": sorted(app.app.handler_map),
    "routes": sorted([path, method] for path, entry in app.app.routes.items() for method in entry),
    "module_files": {
        name: sys.modules[name].__file__ for name in ("pydantic_core", "boto3", "shared", "jwt", "cryptography")
    },
}))
"""


def top_level_entries(dist_name: str) -> set[str]:
    """Names a distribution installs at the top of site-packages: its modules and its dist-info."""
    files = distribution(dist_name).files or []
    parts = {PurePosixPath(str(file)).parts[0] for file in files}
    return {part for part in parts if part not in ("..", "__pycache__")}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def chalice_config(service: str) -> dict[str, Any]:
    return read_json(ROOT / "services" / service / ".chalice" / "config.json")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("build")
    result = subprocess.run(
        [sys.executable, "-m", "infra.package", str(target)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only the modules the Lambda Python runtime provides, linked from this venv."""
    target = tmp_path_factory.mktemp("lambda-runtime")
    site_packages = Path(distribution("boto3").locate_file(""))
    for name in requirements.RUNTIME_PROVIDED:
        for entry in top_level_entries(name):
            (target / entry).symlink_to(site_packages / entry)
    return target


def template(build_dir: Path, service: str) -> dict[str, Any]:
    return read_json(build_dir / service / "sam.json")


def sqs_events(build_dir: Path, service: str) -> list[dict[str, Any]]:
    return [
        event
        for function in functions(template(build_dir, service)).values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "SQS"
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_sqs_event_source_reports_batch_item_failures(build_dir: Path, service: str) -> None:
    # given the SAM template `make package` wrote for the service
    # when its SQS event sources are read
    events = sqs_events(build_dir, service)
    # then each one lets the handler report partial failures (Chalice never sets it)
    assert all(event["Properties"].get("FunctionResponseTypes") == ["ReportBatchItemFailures"] for event in events)


def test_routing_consumes_the_intake_and_notify_queues(build_dir: Path) -> None:
    # given the routing template
    # when the queues of its SQS event sources are listed
    arns = [event["Properties"]["Queue"]["Fn::Sub"] for event in sqs_events(build_dir, "routing")]
    # then both consumer queues are there, named by partition and region of the stack
    settings = default_settings()
    prefix = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
    expected = {prefix + settings.intake_queue, prefix + settings.notify_queue}
    assert set(arns) == expected


def test_reporting_counts_the_case_events_with_partial_batch_failures(build_dir: Path) -> None:
    # given the reporting template
    # when its SQS event sources are read
    events = sqs_events(build_dir, "reporting")
    # then the statistics consumer reads the events queue and reports partial failures
    prefix = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"
    assert [event["Properties"]["Queue"]["Fn::Sub"] for event in events] == [prefix + default_settings().events_queue]
    assert events[0]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_zip_imports_with_only_what_lambda_provides(
    build_dir: Path, runtime_dir: Path, tmp_path: Path, service: str
) -> None:
    # given the service's zip unpacked, and the environment its functions get from the template
    package_dir = tmp_path / "package"
    with zipfile.ZipFile(build_dir / service / "deployment.zip") as archive:
        archive.extractall(package_dir)
    variables = next(iter(functions(template(build_dir, service)).values()))["Properties"]["Environment"]["Variables"]
    env = {name: value for name, value in variables.items() if isinstance(value, str)}
    env.update({name: "a-secret-given-at-deploy-time" for name in SECRETS}, AWS_DEFAULT_REGION="cn-northwest-1")
    # when a clean interpreter (no site-packages, no user paths) imports the app as Lambda would
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", IMPORT_APP, str(package_dir), str(runtime_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it loads, with its handlers and routes, the wheels from the zip and boto3 from the runtime
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["is_chalice_app"]
    assert EVENT_HANDLERS[service] <= set(found["handlers"])
    assert ROUTES[service] <= {tuple(route) for route in found["routes"]}
    assert found["module_files"]["pydantic_core"].startswith(str(package_dir))
    assert found["module_files"]["shared"].startswith(str(package_dir))
    assert found["module_files"]["jwt"].startswith(str(package_dir))
    assert found["module_files"]["cryptography"].startswith(str(package_dir))
    assert found["module_files"]["boto3"].startswith(str(runtime_dir))


@pytest.mark.parametrize("service", SERVICES)
def test_zip_holds_shared_data_and_tracer_but_not_the_runtime_modules(build_dir: Path, service: str) -> None:
    # given the data files and page templates of the shared package in the repository
    data_files = {path.relative_to(ROOT).as_posix() for path in (ROOT / "shared" / "data").rglob("*.json")}
    data_files |= {path.relative_to(ROOT).as_posix() for path in (ROOT / "shared" / "templates").glob("*.*")}
    assert data_files and any(name.endswith(".html") for name in data_files)
    # when the service's zip is listed
    with zipfile.ZipFile(build_dir / service / "deployment.zip") as archive:
        names = set(archive.namelist())
    top_level = {PurePosixPath(name).parts[0] for name in names}
    # then every data file and template is in it, the tracer extra is in it, and neither caches nor runtime modules are
    assert data_files <= names
    assert "aws_xray_sdk" in top_level
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    provided = set().union(*(top_level_entries(name) for name in requirements.RUNTIME_PROVIDED))
    assert not top_level & provided


def test_service_requirements_are_derived_from_the_lock() -> None:
    # given requirements.lock and the installed runtime dependencies
    # when each service's requirements.txt is compared with what infra.requirements derives
    stale = requirements.stale_services()
    # then none differs (run `make requirements` after changing the lock)
    assert stale == []


def test_resources_template_gives_every_queue_a_dead_letter_queue(build_dir: Path) -> None:
    # given the resources template
    resources = read_json(build_dir / "resources.json")["Resources"]
    by_name = {
        resource["Properties"]["QueueName"]: (logical_id, resource)
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::SQS::Queue"
    }
    # when each work queue's redrive policy is followed
    for queue in queues(default_settings()):
        redrive = by_name[queue][1]["Properties"]["RedrivePolicy"]
        dlq_id = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
        # then it leads to the queue's own dead-letter queue after a bounded number of receives
        assert by_name[dead_letter_queue(queue)][0] == dlq_id
        assert redrive["maxReceiveCount"] == MAX_RECEIVE_COUNT


def test_templates_are_valid_in_china_and_global_regions(build_dir: Path) -> None:
    # given every template the build wrote
    templates = [build_dir / "resources.json", *(build_dir / service / "sam.json" for service in SERVICES)]
    # when cfn-lint checks them against the China regions' and a global region's resource specifications
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--regions", "cn-north-1", "cn-northwest-1", "us-east-1", "--", *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then it finds nothing
    assert result.returncode == 0, result.stdout + result.stderr


def test_unclaimed_uploads_expire(build_dir: Path) -> None:
    resources = read_json(build_dir / "resources.json")["Resources"]
    [rule] = resources["HotspotRawBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert (rule["Prefix"], rule["Status"]) == ("uploads/quarantine/", "Enabled") and rule["ExpirationInDays"] >= 1


def test_ses_receiving_is_a_template_of_its_own_for_global_regions(build_dir: Path) -> None:
    # given the SES receiving template (China has no SES, so it is not part of resources.json)
    template = build_dir / "mail-ses.json"
    rule = read_json(template)["Resources"]["MailReceiptRule"]["Properties"]["Rule"]
    # then it writes mail for the published address under the prefix the mail queue is notified of
    assert rule["Actions"][0]["S3Action"] == {"BucketName": Settings().raw_bucket, "ObjectKeyPrefix": MAIL_PREFIX}
    assert rule["Recipients"] == [Settings().mail_address]
    # and it is valid where SES exists
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--regions", "us-east-1", "--", str(template)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_secrets_come_from_template_parameters_not_files(build_dir: Path, service: str) -> None:
    # given the service's template and its config
    sam = template(build_dir, service)
    config_text = (ROOT / "services" / service / ".chalice" / "config.json").read_text(encoding="utf-8")
    # when each secret is looked up
    for variable, parameter in SECRETS.items():
        # then every function reads it from a NoEcho parameter and no config file holds it
        assert sam["Parameters"][parameter]["NoEcho"] is True
        for function in functions(sam).values():
            assert function["Properties"]["Environment"]["Variables"][variable] == {"Ref": parameter}
        assert variable not in config_text


@pytest.mark.parametrize("service", SERVICES)
def test_stage_config_matches_settings_and_resources(service: str) -> None:
    # given the service's Chalice config
    config = chalice_config(service)
    environment = config["environment_variables"]
    # when it is compared with the settings model and the resource definitions
    defaults = {name.upper(): str(field.default) for name, field in Settings.model_fields.items()}
    resources = {name: value for name, value in defaults.items() if name.endswith(("_TABLE", "_BUCKET", "_QUEUE"))}
    # then every deployed resource is named as the settings and the resource definitions name it, every other
    # variable is a setting or Powertools' (other settings keep their defaults), no secret is written down,
    # timeouts agree, and every stage names a policy file that exists and never hard-codes a partition
    assert {name: environment.get(name) for name in resources} == resources
    assert all(name in defaults or name.startswith("POWERTOOLS_") for name in environment)
    assert not set(environment) & set(SECRETS)
    assert config["lambda_timeout"] == FUNCTION_TIMEOUT_SECONDS
    assert config["autogen_policy"] is False
    for stage in STAGES:
        stage_settings = config["stages"][stage]
        assert stage_settings["environment_variables"]["POWERTOOLS_TRACE_DISABLED"] in ("true", "false")
        policy = read_json(ROOT / "services" / service / ".chalice" / stage_settings["iam_policy_file"])
        arns = [arn for statement in policy["Statement"] for arn in _as_list(statement["Resource"])]
        assert all(arn == "*" or arn.startswith("arn:*:") for arn in arns)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


# Run by a clean interpreter over the unpacked reporting zip: render a summary PDF with the bundled font.
RENDER_SUMMARY = """
import json, sys
sys.path[:0] = sys.argv[1:3]
from shared.reporting.report_document import ReportDocument
from shared.reporting.summary_pdf import font_file, to_pdf
data = to_pdf(ReportDocument.model_validate_json(sys.stdin.read()))
print(json.dumps({"font": str(font_file()), "pdf": data[:5].decode(), "sc_font": b"NotoSerifCJKSC" in data}))
"""


def test_reporting_zip_renders_the_summary_pdf_with_its_bundled_font(
    build_dir: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    # given the reporting zip unpacked, and the environment its functions get from the template
    package_dir = tmp_path / "package"
    with zipfile.ZipFile(build_dir / "reporting" / "deployment.zip") as archive:
        archive.extractall(package_dir)
    variables = next(iter(functions(template(build_dir, "reporting")).values()))["Properties"]["Environment"][
        "Variables"
    ]
    env = {name: value for name, value in variables.items() if isinstance(value, str)}
    # when a clean interpreter renders the sample county summary from it, as the Lambda would
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RENDER_SUMMARY, str(package_dir), str(runtime_dir)],
        input=sample_document().model_dump_json(),
        cwd=tmp_path,
        env={**env, "AWS_DEFAULT_REGION": "cn-northwest-1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then the font path is relative to the package, the font comes from the zip, and the PDF uses its SC face
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert not Path(env["REPORT_FONT_PATH"]).is_absolute()
    assert found["font"] == str(package_dir / env["REPORT_FONT_PATH"]) and Path(found["font"]).is_file()
    assert env["REPORT_FONT_INDEX"] == "2"
    assert found["pdf"] == "%PDF-" and found["sc_font"]
