import json

import pytest

from shared.core.settings import Settings


def test_a_list_setting_is_read_from_its_environment_variable_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the duty phones in the environment as the service stack sets them, and a plain setting beside them
    phones = ["+8613900000000", "+8613900000001"]
    monkeypatch.setenv("ALARM_PHONES", json.dumps(phones))
    monkeypatch.setenv("SWEEP_AFTER_SECONDS", "120")
    # when the settings are read
    settings = Settings()
    # then the list is a list of the phones, and the plain setting converted from its text
    assert settings.alarm_phones == phones
    assert settings.sweep_after_seconds == 120
