"""Cold-start proxy: how long each app takes to import, beside a bare `import boto3`, in fresh interpreters."""

import os
import subprocess
import sys
from pathlib import Path

from bench.stats import line, summary

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
_TIMER = "import time; started = time.perf_counter(); {statement}; print(time.perf_counter() - started)"
_LOAD_APP = (
    "import importlib.util, sys; sys.path.insert(0, {service_dir!r}); "
    "spec = importlib.util.spec_from_file_location('app', {path!r}); "
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
)


def _time(statement: str) -> float:
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "cn-north-1"}
    output = subprocess.run(
        [sys.executable, "-c", _TIMER.format(statement=statement)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    print(f"import time, {RUNS} fresh interpreters each")
    baseline = [_time("import boto3") for _ in range(RUNS)]
    print(line("bare import boto3 (baseline)", baseline))
    base = summary(baseline)["median"]
    for service in ("intake", "routing", "reporting"):
        service_dir = ROOT / "services" / service
        statement = _LOAD_APP.format(service_dir=str(service_dir), path=str(service_dir / "app.py"))
        print(line(f"import services/{service}/app.py", [_time(statement) for _ in range(RUNS)], baseline=base))


if __name__ == "__main__":
    main()
