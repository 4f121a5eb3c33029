"""`hotspot run` with the floor app (bench/floor_app.py) behind the same gateway at /floor: for the intake benchmark."""

import sys
from pathlib import Path

from infra import cli, local_stack

_load_services = local_stack.load_services


def _with_floor() -> list[local_stack.Service]:
    floor = local_stack.load_app(Path(__file__).with_name("floor_app.py"), "hotspot_bench_floor_app")
    return [*_load_services(), local_stack.Service("floor", "floor", floor)]


if __name__ == "__main__":
    local_stack.load_services = _with_floor
    sys.exit(cli.main())
