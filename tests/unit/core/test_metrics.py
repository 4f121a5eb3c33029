"""The operators' figures go out as CloudWatch embedded metrics in the log, on Lambda only."""

import json

import pytest

from shared.core.observability import METRICS, count


def test_a_figure_is_an_embedded_metric_on_lambda(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # given a function on Lambda in the stage's namespace
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hotspot-dev-intake-APIHandler")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "hotspot-dev")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    # when a complaint by SMS is counted
    count("ComplaintsReceived", channel="sms")
    # then one line of the log is the metric, in the namespace, with its dimension
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "hotspot-dev" and directive["Dimensions"] == [["channel"]]
    assert line["channel"] == "sms" and line["ComplaintsReceived"] == [1.0]
    assert METRICS["ComplaintsReceived"] == ("channel",)


def test_no_figure_is_written_off_lambda_or_for_nothing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # given the local stack, the CLI or a test (no Lambda), and then a Lambda with metrics switched off
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    count("ComplaintsRouted")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "hotspot-dev-routing-RemindDeadlines")
    count("Escalations", 0)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    count("ComplaintsRouted")
    # then nothing is written
    assert '"_aws"' not in capsys.readouterr().out
