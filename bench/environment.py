"""The process environment of the in-process benchmarks: moto in memory, never a real account."""

import os


def use_moto_in_process() -> None:
    """Dummy credentials, no endpoint override, quiet logs; call before importing the code under test."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
