"""`hotspot classify`: JSON lines in, one JSON line out each, with the routing service's own logic."""

import json
import subprocess
import sys

from shared.core.classifier import classify
from tests.support import ROOT, read_jsonl


def run_classify(lines: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", "classify"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_the_reference_samples_classify_as_expected_through_the_cli() -> None:
    # given the county's 14 sample complaints as JSON lines
    samples = read_jsonl("sample_complaints.jsonl")
    # when they are piped through `hotspot classify`
    result = run_classify([json.dumps({"text": s["text"]}, ensure_ascii=False) for s in samples])
    # then each gets one line with category, department and confidence, as the routing logic decides
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and len(outputs) == len(samples)
    assert all({"category", "department", "confidence"} <= out.keys() for out in outputs)
    assert [out["department"] for out in outputs] == [classify(s["text"]).department for s in samples]
    right = [
        s["text"]
        for s, out in zip(samples, outputs, strict=True)
        if (out["category"], out["department"]) == (s["category"], s["department"])
    ]
    assert len(right) >= 12, f"only {len(right)} of {len(samples)} right"


def test_a_respondent_field_is_used_and_a_bad_line_does_not_stop_the_rest() -> None:
    # given a good line with a respondent, a line that is not JSON and a line without text
    lines = [
        json.dumps({"text": "他们检查时态度很粗暴", "respondent": "县市场监管局"}, ensure_ascii=False),
        "{not json",
        json.dumps({"respondent": "城管"}, ensure_ascii=False),
    ]
    # when they are classified
    result = run_classify(lines)
    outputs = [json.loads(line) for line in result.stdout.splitlines()]
    # then the good line is routed to the named body and each bad one gets an error line, exit code 1
    assert result.returncode == 1
    assert outputs[0]["department"] == "SCJG"
    assert [out["error"]["code"] for out in outputs[1:]] and all("error" in out for out in outputs[1:])
    assert [out["line"] for out in outputs[1:]] == [2, 3]
