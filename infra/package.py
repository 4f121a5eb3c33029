"""What each service directory needs before `chalice package` builds its zip (infra/cdk/app.py calls these).

Chalice silently drops local packages from requirements.txt and does not follow symlinks in chalicelib/
(DESIGN.md, section 7), so `shared` is copied into services/<svc>/vendor/, which Chalice puts in the zip as
it is. `make synth` runs the packaging itself, through the CDK app, which then adds the bytecode of every module
to the zip (`add_bytecode`).
"""

import compileall
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from infra import requirements
from shared.core.settings import Settings

ROOT = requirements.ROOT


def vendor_shared(service_dir: Path) -> None:
    """Replace the service's vendor/shared with a fresh copy of the shared package, data files included."""
    target = service_dir / "vendor" / "shared"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "shared", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


# The phase summary PDF (shared/reporting/summary_pdf.py) embeds a CJK font, which Lambda's runtime does not have: the
# services that render it get the font of the build machine's settings (REPORT_FONT_PATH, REPORT_FONT_INDEX;
# default Debian's fonts-noto-cjk) in vendor/fonts/, at the root of the zip beside `shared`. The collection is
# copied whole (26 MB, about 20 MB zipped): extracting the SC face with fontTools saves little and takes a minute.
FONT_SERVICES = ("reporting",)
FONT_DIR = "fonts"


def vendor_font(service_dir: Path, settings: Settings) -> dict[str, str]:
    """Copy the report font into vendor/fonts/; returns the environment that points the functions at it."""
    source = Path(settings.report_font_path)
    if not source.is_file():
        raise SystemExit(f"report font {source} not found: install fonts-noto-cjk or set REPORT_FONT_PATH")
    target = service_dir / "vendor" / FONT_DIR
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copyfile(source, target / source.name)
    # Relative: shared.reporting.summary_pdf resolves it from the directory holding `shared` (/var/task on Lambda).
    return {"REPORT_FONT_PATH": f"{FONT_DIR}/{source.name}", "REPORT_FONT_INDEX": str(settings.report_font_index)}


# Where Lambda unpacks a function's zip.
LAMBDA_TASK_ROOT = "/var/task"
# The time of each bytecode file in the zip (zip's earliest): the bytecode's own time would make each build differ.
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_bytecode(zip_path: Path, runtime: str) -> int:
    """Compile every module of a deployment zip into it, as unchecked-hash .pyc files; how many were added.

    Lambda unpacks a zip into a read-only directory, where Python cannot keep the bytecode it compiles: without
    bytecode in the zip, every cold start compiles every module it imports (pydantic, chalice, shared) from source.
    Unchecked-hash files are used whatever times unzipping gives the sources. They are compiled by this
    interpreter, whose version `chalice package` gave the functions as their runtime; another would not read them.
    """
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != own:
        raise SystemExit(f"the functions run {runtime}; bytecode compiled by {own} would not be read there")
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as archive:
        unpacked = Path(folder)
        present = set(archive.namelist())
        archive.extractall(unpacked)
        # A source that does not compile (a package's template, say) is left as it is, as pip's own compiling does.
        # The file names compiled in are where Lambda unpacks the zip, not this temporary folder: the same sources
        # give the same bytes, so the zip, and the asset CDK uploads for it, change only when the code does.
        compileall.compile_dir(
            unpacked,
            ddir=LAMBDA_TASK_ROOT,
            quiet=2,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        compiled = sorted(path.relative_to(unpacked).as_posix() for path in unpacked.rglob("*.pyc"))
        added = [name for name in compiled if name not in present]
        for name in added:
            entry = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, (unpacked / name).read_bytes(), zipfile.ZIP_DEFLATED)
    return len(added)
