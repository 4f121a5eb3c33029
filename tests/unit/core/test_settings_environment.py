"""Settings come from the environment variables the CDK stacks and the local stack set."""

from shared.core.settings import Settings


def test_plain_and_list_settings_are_read_from_the_environment(monkeypatch) -> None:
    # given a stage's environment with a text, a number and a list (as JSON, as the CDK writes it)
    monkeypatch.setenv("CASES_TABLE", "hotspot-prod-cases")
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("ALARM_PHONES", '["+8613900000000", "+8613900000001"]')
    # when the settings are made
    settings = Settings()
    # then each has its type, and an argument still wins over the environment
    assert (settings.cases_table, settings.max_body_bytes) == ("hotspot-prod-cases", 2048)
    assert settings.alarm_phones == ["+8613900000000", "+8613900000001"]
    assert Settings(cases_table="given").cases_table == "given"
