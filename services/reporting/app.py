"""Reporting: county statistics on a schedule and on demand, listed with download links.

Logic: shared/reporting/reports.py, shared/reporting/stats.py (the counters, from the case events),
shared/reporting/hotspots.py.
The gateway maps this app at /reports, so its routes are `/`.
"""

from typing import Any

from chalice import Chalice, Cron, Rate, Response

from shared.core import auth
from shared.core.batch import PartialItemFailureResponse, process_messages
from shared.core.http import current_request, guarded, json_response, raw_body, staff_page_response
from shared.core.settings import get_settings
from shared.reporting import dashboard, hotspots, materials, records, reports, stats

app = Chalice(app_name="hotspot-reporting", configure_logs=False)


# Every case event counts the case's current version once (shared/reporting/stats.py); failures are retried by SQS.
@app.on_sqs_message(queue=get_settings().events_queue, batch_size=10)
def count_case_events(event: Any) -> PartialItemFailureResponse:
    settings = get_settings()
    return process_messages(event, lambda message: stats.count_event(settings, message))


# Monday 00:00 UTC is 08:00 in Asia/Shanghai: last week's tables, for the county and each department.
@app.schedule(Cron(0, 0, "?", "*", "MON", "*"), name="generate_weekly_reports")
def generate_weekly_reports(event: Any) -> dict:
    return {"reports": [report.model_dump(mode="json") for report in reports.weekly_reports(get_settings())]}


# 16:30 UTC is 00:30 in Asia/Shanghai: the day after a campaign phase ends, its tables and summaries.
@app.schedule(Cron(30, 16, "*", "*", "?", "*"), name="generate_phase_reports")
def generate_phase_reports(event: Any) -> dict:
    return {"reports": [report.model_dump(mode="json") for report in reports.phase_end_reports(get_settings())]}


@app.route("/", methods=["POST"], content_types=["*/*"])
@guarded
def create_report() -> Response:
    settings = get_settings()
    request = current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(201, reports.request_report(settings, principal, raw_body(request)).model_dump(mode="json"))


@app.route("/", methods=["GET"])
@guarded
def list_reports() -> Response:
    settings = get_settings()
    listed = reports.list_reports(settings, auth.principal_from_headers(settings, current_request(app).headers))
    return json_response(200, {"reports": [report.model_dump(mode="json") for report in listed]})


# The dashboard page (shared/reporting/dashboard.py), signed in with the console's session: county-wide roles see
# the county, department roles their department.
@app.route("/dashboard", methods=["GET"])
@guarded
def dashboard_page() -> Response:
    settings = get_settings()
    request = current_request(app)
    params: dict[str, str] = dict(request.query_params or {})
    return staff_page_response(
        app, settings, lambda where: dashboard.dashboard_page(settings, where, request.headers, params)
    )


# --- hotspots (shared/reporting/hotspots.py) ---


@app.schedule(Rate(1, unit=Rate.HOURS), name="detect_hotspots")
def detect_hotspots(event: Any) -> dict:
    return hotspots.detect(get_settings()).model_dump(mode="json")


@app.route("/hotspots", methods=["GET"])
@guarded
def list_hotspots() -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, hotspots.list_hotspots(settings, principal, request.query_params or {}))


@app.route("/hotspots/{hotspot_id}", methods=["GET"])
@guarded
def get_hotspot(hotspot_id: str) -> Response:
    settings = get_settings()
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(200, hotspots.get_hotspot(settings, principal, hotspot_id))


@app.route("/hotspots/{hotspot_id}/status", methods=["POST"], content_types=["*/*"])
@guarded
def change_hotspot_status(hotspot_id: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, hotspots.change_status(settings, principal, hotspot_id, raw_body(request)))


# --- records the county legal office enters and the campaign materials (shared/reporting/records.py) ---


# 00:00 UTC is 08:00 in Asia/Shanghai: reminders reach the legal offices as they open.
@app.schedule(Cron(0, 0, "*", "*", "?", "*"), name="remind_materials")
def remind_materials(event: Any) -> dict:
    return {"sent": [reminder.model_dump() for reminder in materials.remind_materials(get_settings())]}


@app.route("/records/{kind}", methods=["POST"])
@guarded
def add_record(kind: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(201, records.add_record(settings, principal, kind, raw_body(request)))


@app.route("/records/{kind}", methods=["GET"])
@guarded
def list_records(kind: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, records.list_records(settings, principal, kind, request.query_params or {}))


@app.route("/records/{kind}/{record_id}", methods=["PUT"])
@guarded
def update_record(kind: str, record_id: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(200, records.update_record(settings, principal, kind, record_id, raw_body(request)))


@app.route("/records/{kind}/{record_id}", methods=["DELETE"])
@guarded
def delete_record(kind: str, record_id: str) -> Response:
    settings = get_settings()
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    records.delete_record(settings, principal, kind, record_id)
    return Response(body="", status_code=204)


@app.route("/materials", methods=["GET"])
@guarded
def list_materials() -> Response:
    settings = get_settings()
    principal = auth.principal_from_headers(settings, current_request(app).headers)
    return json_response(200, materials.overview(settings, principal))


@app.route("/materials/{material}/uploads", methods=["POST"])
@guarded
def material_upload_slot(material: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    return json_response(201, materials.upload_slot(settings, principal, material, raw_body(request)))


@app.route("/materials/{material}/submissions", methods=["POST"])
@guarded
def submit_material(material: str) -> Response:
    settings, request = get_settings(), current_request(app)
    principal = auth.principal_from_headers(settings, request.headers)
    status, body = materials.confirm_submission(settings, principal, material, raw_body(request))
    return json_response(status, body)


@app.route("/health", methods=["GET"])
def health() -> Response:
    return json_response(200, {"status": "ok", "service": "reporting"})
