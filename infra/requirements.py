"""Derive each service's `requirements.txt` from `requirements.lock`.

Chalice builds a Lambda package from `services/<svc>/requirements.txt`. That file holds the transitive
closure of the project's runtime dependencies (`[project].dependencies` in pyproject.toml, extras
included), pinned at the versions in `requirements.lock`, less what the Lambda Python runtime already
provides. The closure is read from the installed distributions' metadata, with environment markers
evaluated for Lambda (Linux, CPython 3.11, x86_64), so it follows the lock instead of a hand-kept list.

`python -m infra.requirements` writes the files; `--check` exits 1 when a committed file differs.
"""

import argparse
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path, PurePosixPath

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("intake", "routing", "reporting")

# Modules the Lambda Python runtime ships: packaging them again only makes the zip bigger.
# Their own dependencies are the runtime's business, so the closure stops at them.
RUNTIME_PROVIDED = frozenset(
    canonicalize_name(name)
    for name in ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
)

HEADER = (
    "# Generated from requirements.lock by `make requirements` (python -m infra.requirements): do not edit.\n"
    "# The project's runtime dependencies and everything they need, less what the Lambda runtime provides.\n"
)


def top_level_entries(dist_name: str) -> set[str]:
    """Names a distribution installs at the top of site-packages: its modules and its dist-info."""
    files = distribution(dist_name).files or []
    parts = {PurePosixPath(str(file)).parts[0] for file in files}
    return {part for part in parts if part not in ("..", "__pycache__")}


def runtime_provided_entries() -> set[str]:
    """The top-level names in site-packages of what the Lambda runtime provides."""
    return set().union(*(top_level_entries(name) for name in RUNTIME_PROVIDED))


def lambda_environment(extra: str = "") -> dict[str, str]:
    """Marker environment of the Lambda Python 3.11 runtime (x86_64, Chalice's default architecture)."""
    environment: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    environment.update(
        {
            "implementation_name": "cpython",
            "implementation_version": "3.11.0",
            "os_name": "posix",
            "platform_machine": "x86_64",
            "platform_python_implementation": "CPython",
            "platform_system": "Linux",
            "python_full_version": "3.11.0",
            "python_version": "3.11",
            "sys_platform": "linux",
            "extra": extra,
        }
    )
    return environment


def applies(requirement: Requirement, extras: frozenset[str]) -> bool:
    """Whether a requirement applies on Lambda when its parent is installed with `extras`."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate(lambda_environment(extra)) for extra in ("", *extras))


def runtime_roots() -> list[Requirement]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    return [Requirement(line) for line in project["dependencies"]]


def closure(roots: list[Requirement]) -> set[str]:
    """Canonical names of the roots and all their dependencies, stopping at what Lambda provides."""
    seen: dict[str, frozenset[str]] = {}
    pending = [(canonicalize_name(req.name), frozenset(req.extras)) for req in roots if applies(req, frozenset())]
    while pending:
        name, extras = pending.pop()
        known = seen.get(name)
        if name in RUNTIME_PROVIDED or (known is not None and extras <= known):
            continue
        # Visited again with more extras: walk it again so the new extras' dependencies are added.
        extras = extras | (known or frozenset())
        seen[name] = extras
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            raise SystemExit(f"{name} is not installed: run `make venv` first") from None
        for line in requires:
            requirement = Requirement(line)
            if applies(requirement, extras):
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return set(seen)


def locked_versions() -> dict[str, tuple[str, str]]:
    """Canonical name -> (name as spelled in the lock, pinned version)."""
    pins: dict[str, tuple[str, str]] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==", 1)
            pins[canonicalize_name(name)] = (name.strip(), version.strip())
    return pins


def expected_text(service: str) -> str:
    """The requirements.txt that `service` should have. Every service shares the one dependency list."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    pins = locked_versions()
    lines = []
    for name in sorted(closure(runtime_roots())):
        if name not in pins:
            raise SystemExit(f"{name} is needed at run time but missing from requirements.lock: run `make lock`")
        spelled, version = pins[name]
        installed = distribution(name).version
        if installed != version:
            # The closure was read from the venv; a venv out of step with the lock would give a wrong one.
            raise SystemExit(f"{name} {installed} is installed but the lock says {version}: run `make venv`")
        lines.append(f"{spelled}=={version}\n")
    return HEADER + "".join(lines)


def requirements_path(service: str) -> Path:
    return ROOT / "services" / service / "requirements.txt"


def stale_services() -> list[str]:
    """Services whose requirements.txt is missing or differs from the derived text."""
    stale = []
    for service in SERVICES:
        path = requirements_path(service)
        if not path.exists() or path.read_text(encoding="utf-8") != expected_text(service):
            stale.append(service)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a requirements.txt is out of date")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_services()
        for service in stale:
            print(f"{requirements_path(service).relative_to(ROOT)} is out of date: run `make requirements`")
        return 1 if stale else 0
    for service in SERVICES:
        path = requirements_path(service)
        path.write_text(expected_text(service), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
