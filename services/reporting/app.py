"""Reporting: county statistics on a schedule and on demand, listed with download links.

Logic: shared/reporting.py. The gateway maps this app at /reports, so its routes are `/`.
"""

from typing import Any

from chalice import Chalice, Cron, Response

from shared import auth, reporting
from shared.http import current_request, guarded, json_response
from shared.settings import get_settings

app = Chalice(app_name="hotspot-reporting", configure_logs=False)


# 16:00 UTC is midnight in Asia/Shanghai: the day's report is ready when the county office opens.
@app.schedule(Cron(0, 16, "*", "*", "?", "*"), name="generate_daily_report")
def generate_daily_report(event: Any) -> dict:
    return reporting.generate_report(get_settings()).model_dump(mode="json")


@app.route("/", methods=["POST"], content_types=["*/*"])
@guarded
def create_report() -> Response:
    settings = get_settings()
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(201, reporting.request_report(settings, principal).model_dump(mode="json"))


@app.route("/", methods=["GET"])
@guarded
def list_reports() -> Response:
    settings = get_settings()
    reports = reporting.list_reports(settings, auth.principal_from_headers(settings, current_request(app).headers))
    return json_response(200, {"reports": [report.model_dump(mode="json") for report in reports]})


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "reporting"})
