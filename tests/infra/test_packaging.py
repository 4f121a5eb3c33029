"""The zips CDK deploys: each imports in a clean interpreter with only what the Lambda runtime provides.

They are the assets of the China example stage, synthesized once per session (tests/infra/conftest.py):
`chalice package` downloads Linux wheels (pydantic_core, pillow) from PyPI for the python3.11 runtime, and the
synthesis fails if it cannot find one for a package, instead of leaving it out of the zip.
"""

import json
import subprocess
import sys
import zipfile
from importlib.metadata import distribution
from importlib.util import cache_from_source
from pathlib import Path, PurePosixPath

import pytest

from infra import requirements
from tests.infra.synth import Synthesized
from tests.report_sample import sample_document

ROOT = Path(__file__).resolve().parents[2]
SERVICES = requirements.SERVICES

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
    "routing": {"route_complaint", "send_notifications", "remind_deadlines", "sweep_unrouted", "sweep_outbox"},
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
import jwt, cryptography.hazmat.primitives.asymmetric.ec  # what shared.core.auth imports on the first staff request
import PIL.Image  # fpdf2's image support, which Chalice used to leave out silently
print(json.dumps({
    "is_chalice_app": isinstance(app.app, chalice.Chalice),
    "handlers": sorted(app.app.handler_map),
    "routes": sorted([path, method] for path, entry in app.app.routes.items() for method in entry),
    "module_files": {
        name: sys.modules[name].__file__
        for name in ("pydantic_core", "boto3", "shared", "jwt", "cryptography", "PIL")
    },
}))
"""


@pytest.fixture
def china(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["china-example"]


def function_environment(stage: Synthesized, service: str) -> dict[str, str]:
    """The settings a function gets that are written out (references resolve only in an account)."""
    variables = next(iter(stage.functions(service).values()))["Properties"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only the modules the Lambda Python runtime provides, linked from this venv."""
    target = tmp_path_factory.mktemp("lambda-runtime")
    site_packages = Path(distribution("boto3").locate_file(""))
    for entry in requirements.runtime_provided_entries():
        (target / entry).symlink_to(site_packages / entry)
    return target


@pytest.mark.parametrize("service", SERVICES)
def test_deployment_zip_imports_with_only_what_lambda_provides(
    china: Synthesized, runtime_dir: Path, tmp_path: Path, service: str
) -> None:
    # given the service's zip as CDK uploads it, unpacked, and the environment its functions get
    package_dir = tmp_path / "package"
    with zipfile.ZipFile(china.zip_path(service)) as archive:
        archive.extractall(package_dir)
    env = {**function_environment(china, service), "AWS_DEFAULT_REGION": "cn-north-1"}
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
    assert found["module_files"]["PIL"].startswith(str(package_dir))
    assert found["module_files"]["boto3"].startswith(str(runtime_dir))


@pytest.mark.parametrize("service", SERVICES)
def test_zip_holds_data_tracer_and_bytecode_but_not_the_runtime_modules(china: Synthesized, service: str) -> None:
    # given the data files and page templates of the shared package in the repository
    data_files = {path.relative_to(ROOT).as_posix() for path in (ROOT / "shared" / "data").rglob("*.json")}
    data_files |= {path.relative_to(ROOT).as_posix() for path in (ROOT / "shared" / "templates").glob("*.*")}
    assert data_files and any(name.endswith(".html") for name in data_files)
    # when the service's zip is listed
    with zipfile.ZipFile(china.zip_path(service)) as archive:
        names = set(archive.namelist())
    top_level = {PurePosixPath(name).parts[0] for name in names}
    # then every data file and template is in it, the tracer extra is in it, and no runtime modules are; bytecode
    # only of the python3.11 runtime, beside a source of the zip, and for every module of shared, the app and chalice
    assert data_files <= names
    assert "aws_xray_sdk" in top_level
    bytecode = {name for name in names if name.endswith(".pyc")}
    sources = {name for name in names if name.endswith(".py")}
    assert bytecode == {cache_from_source(source) for source in sources} & names
    assert all(name.endswith(".cpython-311.pyc") for name in bytecode)
    ours = {source for source in sources if source.startswith(("shared/", "chalice/")) or source == "app.py"}
    assert ours and {cache_from_source(source) for source in ours} <= bytecode
    assert len(bytecode) > 0.95 * len(sources)
    assert not top_level & requirements.runtime_provided_entries()


def test_service_requirements_are_derived_from_the_lock() -> None:
    # given requirements.lock and the installed runtime dependencies
    # when each service's requirements.txt is compared with what infra.requirements derives
    stale = requirements.stale_services()
    # then none differs (run `make requirements` after changing the lock)
    assert stale == []


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
    china: Synthesized, runtime_dir: Path, tmp_path: Path
) -> None:
    # given the reporting zip unpacked, and the environment its functions get from the template
    package_dir = tmp_path / "package"
    with zipfile.ZipFile(china.zip_path("reporting")) as archive:
        archive.extractall(package_dir)
    env = function_environment(china, "reporting")
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
