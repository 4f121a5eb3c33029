"""What each service directory needs before `chalice package` builds its zip (infra/cdk/app.py calls these).

Chalice silently drops local packages from requirements.txt and does not follow symlinks in chalicelib/
(DESIGN.md, section 7), so `shared` is copied into services/<svc>/vendor/, which Chalice puts in the zip as
it is. `make synth` runs the packaging itself, through the CDK app.
"""

import shutil
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
