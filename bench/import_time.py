"""Cold start: each app's import, and each function's first request in a fresh process (import plus first call, as
Lambda's first invocation), beside a bare `import boto3` in the same run.

The first requests go to a moto server this benchmark starts on loopback and provisions (tables, queues, buckets,
the signing key) before timing; each fresh interpreter gets its own complaint or event, so that none of them takes
a shortcut a redelivery would.

Python reads bytecode as a Lambda function can: the interpreters write none, and read it from a folder of this
run's own (PYTHONPYCACHEPREFIX), not from the project's or the venv's __pycache__. One first request of each
function fills that folder with everything it imports, compiled; the imports and first requests are timed with
it, as the deployment zips are (they carry the bytecode of their modules, infra/package.py). The first requests
are timed again "from source": with the bytecode of the Lambda runtime's modules (boto3 and the standard library)
only, as a zip without bytecode runs.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

from bench.stats import line, summary

ROOT = Path(__file__).resolve().parent.parent
RUNS = int(os.environ.get("BENCH_IMPORT_RUNS", "15"))
FIRST_RUNS = int(os.environ.get("BENCH_FIRST_REQUEST_RUNS", "7"))
GOAL = 2.0
WITH_BYTECODE = "with the zip's bytecode"
FROM_SOURCE = "from source (no bytecode in the zip)"
SERVICES = ("intake", "routing", "reporting")
TEXT = "县市场监管局的执法人员一个月内到我们超市检查了三次，每次检查的内容都一样。"
_TIMER = "import time; started = time.perf_counter(); {statement}; print(time.perf_counter() - started)"
_LOAD_APP = (
    "import importlib.util, sys; sys.path.insert(0, {service_dir!r}); "
    "spec = importlib.util.spec_from_file_location('app', {path!r}); "
    "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
)
# The first invocation as Lambda makes it: the handler (`app` for the API, the function's name for an event source)
# called with the event and a context; an answer of status 500 or failed batch items fails the benchmark.
_FIRST_CALL = (
    "; import json, types; event = json.loads({event!r}); "
    "context = types.SimpleNamespace(function_name='bench', aws_request_id='bench', memory_limit_in_mb=512, "
    "invoked_function_arn='arn:aws:lambda:cn-north-1:123456789012:function:bench', "
    "get_remaining_time_in_millis=lambda: 30000); "
    "answer = getattr(module, {handler!r})(event, context); "
    "assert not (answer or {{}}).get('batchItemFailures') and (answer or {{}}).get('statusCode', 200) < 500, answer"
)


def _environment(bytecode: Path, extra: dict[str, str] | None = None, writing: bool = False) -> dict[str, str]:
    """A fresh interpreter's environment: bytecode read from (and, `writing`, written to) the folder `bytecode`."""
    environment = {
        **os.environ,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "AWS_DEFAULT_REGION": "cn-north-1",
        "PYTHONPYCACHEPREFIX": str(bytecode),
        **(extra or {}),
    }
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment if writing else {**environment, "PYTHONDONTWRITEBYTECODE": "1"}


def _mirror(bytecode: Path, source: Path) -> Path:
    """Where PYTHONPYCACHEPREFIX keeps the bytecode of the sources under `source`."""
    return bytecode / source.resolve().relative_to(source.resolve().anchor)


def _runtime_bytecode(deployed: Path, target: Path) -> Path:
    """A copy of the `deployed` bytecode less that of the modules a zip holds: the project's, and every package in
    site-packages but those the Lambda runtime provides."""
    from infra import requirements

    shutil.copytree(deployed, target)
    for project in ("shared", "services"):
        shutil.rmtree(_mirror(target, ROOT / project), ignore_errors=True)
    site_packages = _mirror(target, Path(str(distribution("boto3").locate_file(""))))
    for entry in set(os.listdir(site_packages)) - requirements.runtime_provided_entries():
        shutil.rmtree(site_packages / entry, ignore_errors=True)
    return target


def _last_line(arguments: list[str], environment: dict[str, str]) -> str:
    """The last line a fresh interpreter prints, run with `arguments` in the project's folder."""
    output = subprocess.run(
        [sys.executable, *arguments], env=environment, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return output.strip().splitlines()[-1]


def _time(statement: str, environment: dict[str, str]) -> float:
    return float(_last_line(["-c", _TIMER.format(statement=statement)], environment))


def _load(service: str) -> str:
    service_dir = ROOT / "services" / service
    return _LOAD_APP.format(service_dir=str(service_dir), path=str(service_dir / "app.py"))


def _http(method: str, path: str, body: str | None = None, **headers: str) -> dict[str, Any]:
    """An API Gateway proxy event as Chalice reads it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "X-Forwarded-For": "192.0.2.1", **headers},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "requestId": uuid.uuid4().hex},
        "body": body,
        "isBase64Encoded": False,
    }


def _sqs(body: str) -> dict[str, Any]:
    record = {
        "messageId": uuid.uuid4().hex,
        "receiptHandle": "bench",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:cn-north-1:123456789012:bench",
        "awsRegion": "cn-north-1",
    }
    return {"Records": [record]}


def _scheduled() -> dict[str, Any]:
    return {
        "version": "0",
        "id": uuid.uuid4().hex,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T02:00:00Z",
        "region": "cn-north-1",
        "resources": [],
        "detail": {},
    }


def _moto(moto_url: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def prepare(count: int) -> None:
    """In a process of its own (run with the moto server's environment): provision it, then print a staff token
    and `count` messages of each kind the consumers take, each about a complaint of its own."""
    from infra.provision import provision
    from shared.core.auth import Role, issue_development_token
    from shared.core.messages import Envelope, MessageType
    from shared.core.settings import get_settings
    from shared.intake.complaints import submit_complaint
    from shared.routing.router import route_complaint, transition_message

    settings = get_settings()
    provision(settings)

    def received(number: int) -> Envelope:
        body = json.dumps({"description": TEXT}).encode()
        answer = submit_complaint(settings, body, "application/json", None, f"198.51.100.{number}")
        return Envelope(type=MessageType.complaint_received, data={"tracking_no": answer.body["tracking_no"]})

    prepared = {
        "token": issue_development_token(settings, Role.county_admin),
        "received": [received(number).model_dump_json() for number in range(count)],
        "transitioned": [
            transition_message(route_complaint(settings, received(number)), None).model_dump_json()
            for number in range(count)
        ],
    }
    print(json.dumps(prepared))


def first_requests(moto_url: str, folder: Path) -> tuple[Path, dict[str, dict[str, list[float]]]]:
    """Time each function's first request, a fresh interpreter each, against the moto server at `moto_url`, with
    the zip's bytecode and from source, in turns; the bytecode folder, and the times by function and way."""
    deployed = folder / "deployed"
    prepare_environment = _environment(deployed, _moto(moto_url), writing=True)
    preparing = ["-m", "bench.import_time", "--prepare", str(2 * FIRST_RUNS + 1)]
    prepared = json.loads(_last_line(preparing, prepare_environment))
    staff = {"Authorization": f"Bearer {prepared['token']}"}
    complaint = json.dumps({"description": TEXT})
    functions: dict[str, tuple[str, str, Callable[[int], dict[str, Any]]]] = {
        "intake POST /complaints": ("intake", "app", lambda n: _http("POST", "/complaints", complaint)),
        "routing route_complaint": ("routing", "route_complaint", lambda n: _sqs(prepared["received"][n])),
        "routing remind_deadlines": ("routing", "remind_deadlines", lambda n: _scheduled()),
        "routing GET /cases (staff)": ("routing", "app", lambda n: _http("GET", "/", None, **staff)),
        "reporting count_case_events": (
            "reporting",
            "count_case_events",
            lambda n: _sqs(prepared["transitioned"][n]),
        ),
        "reporting GET /reports (staff)": ("reporting", "app", lambda n: _http("GET", "/", None, **staff)),
    }

    def first_request(label: str, n: int) -> str:
        service, handler, event = functions[label]
        return _load(service) + _FIRST_CALL.format(event=json.dumps(event(n)), handler=handler)

    # Untimed, writing: the bytecode of everything each function imports (the last of the prepared messages).
    for label in functions:
        _time(first_request(label, 2 * FIRST_RUNS), prepare_environment)
    ways = {WITH_BYTECODE: deployed, FROM_SOURCE: _runtime_bytecode(deployed, folder / "runtime")}
    samples: dict[str, dict[str, list[float]]] = {label: {way: [] for way in ways} for label in functions}
    for n in range(FIRST_RUNS):
        for number, (way, bytecode) in enumerate(ways.items()):
            environment = _environment(bytecode, _moto(moto_url))
            for label in functions:
                samples[label][way].append(_time(first_request(label, 2 * n + number), environment))
    return deployed, samples


def main() -> None:
    from moto.server import ThreadedMotoServer

    from infra import moto_patches
    from tests.support import free_port

    print(f"cold start: import time ({RUNS} fresh interpreters each) and first request ({FIRST_RUNS} each), in turns")
    moto_patches.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            bytecode, first = first_requests(f"http://127.0.0.1:{port}", Path(folder))
            baseline = "bare import boto3 (baseline)"
            statements = {baseline: "import boto3"}
            statements |= {f"import services/{service}/app.py": _load(service) for service in SERVICES}
            # One of each, then again: a slower moment of a busy machine weighs on the baseline and the apps alike.
            samples: dict[str, list[float]] = {label: [] for label in statements}
            for _ in range(RUNS):
                for label, statement in statements.items():
                    samples[label].append(_time(statement, _environment(bytecode)))
    finally:
        server.stop()
    base = summary(samples[baseline])["median"]
    for label, taken in samples.items():
        print(line(label, taken, baseline=None if label == baseline else base))
    for label, ways in first.items():
        print(line(f"first: {label}", ways[WITH_BYTECODE], baseline=base))
        print(line(f"  {FROM_SOURCE}", ways[FROM_SOURCE], baseline=base))
    ratios = {service: summary(samples[f"import services/{service}/app.py"])["median"] / base for service in SERVICES}
    met = all(ratio <= GOAL for ratio in ratios.values())
    print(
        "  imports: "
        + ", ".join(f"{service} x{ratio:.2f}" for service, ratio in ratios.items())
        + f" of import boto3; goal at most x{GOAL:.1f} each: {'met' if met else 'NOT met'}"
    )
    saved = [summary(ways[FROM_SOURCE])["median"] - summary(ways[WITH_BYTECODE])["median"] for ways in first.values()]
    print(
        f"  the zips' bytecode: first requests {1000 * min(saved):.0f}-{1000 * max(saved):.0f} ms quicker than "
        "from source"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        prepare(int(sys.argv[2]))
    else:
        main()
