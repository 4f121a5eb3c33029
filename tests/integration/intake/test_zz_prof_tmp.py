import cProfile, pstats, json, time
from tests.integration.intake.test_sms_webhooks import post_twilio, twilio_params, aliyun_item, JSON


def test_prof(http, aws, monkeypatch):
    import logging; logging.disable(logging.CRITICAL)
    from shared.core.settings import environment_settings
    monkeypatch.setenv('SUBMISSIONS_PER_IP_PER_HOUR','1000000'); monkeypatch.setenv('SMS_PUSHES_PER_IP_PER_HOUR','1000000'); environment_settings.cache_clear()
    for n in range(300):
        http.post("/complaints", headers=JSON, body=json.dumps({"description": "县市场监管局的执法人员检查了三次。", "complainant": {"phone": f"139{n:08d}"}}))
    def run(k):
        t=time.perf_counter()
        for n in range(k, k+60):
            http.post("/sms/aliyun?token=local-sms-token", headers=JSON, body=json.dumps([aliyun_item(sequence_id=n, phone=f"138{n:08d}")]))
        return (time.perf_counter()-t)/60
    def runj(k):
        t=time.perf_counter()
        for n in range(k, k+60):
            http.post("/complaints", headers=JSON, body=json.dumps({"description": "县市场监管局的执法人员检查了三次。"}))
        return (time.perf_counter()-t)/60
    print("sms", run(0)*1000, "json", runj(0)*1000)
    pr = cProfile.Profile(); pr.enable(); run(1000); pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(70)
