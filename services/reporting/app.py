"""Reporting: county statistics on a schedule and on demand, listed with download links.

Logic: shared/reporting/reports.py, shared/reporting/stats.py (the counters, from the case events),
shared/reporting/hotspots.py.
The gateway maps this app at /reports, so its routes are `/`.
"""

from typing import Any

from chalice import Chalice, Cron, Rate, Response
from chalice.app import Request

from shared.core import http
from shared.core.batch import PartialItemFailureResponse, process_batch
from shared.core.http import StaffCall, guarded, json_response, query_params, raw_body, staff_json, staff_page
from shared.core.pages import Page
from shared.core.settings import Settings, environment_settings, get_settings
from shared.core.staff_pages import Where

app = Chalice(app_name="hotspot-reporting", configure_logs=False)

# Every handler below is a Lambda function of its own importing this file, and the API's requests each need only
# a few of the logic modules: handlers import theirs when first called, so that no cold start pays for the others.


# Every case event counts the case's current version once (shared/reporting/stats.py); failures are retried by SQS.
@app.on_sqs_message(queue=environment_settings().events_queue, batch_size=10)
def count_case_events(event: Any) -> PartialItemFailureResponse:
    from shared.reporting import stats

    settings = get_settings()
    return process_batch(event, lambda messages: stats.count_events(settings, messages))


# Monday 00:00 UTC is 08:00 in Asia/Shanghai: last week's tables, for the county and each department.
@app.schedule(Cron(0, 0, "?", "*", "MON", "*"), name="generate_weekly_reports")
def generate_weekly_reports(event: Any) -> dict:
    from shared.reporting import reports

    return {"reports": [report.model_dump(mode="json") for report in reports.weekly_reports(get_settings())]}


# 16:30 UTC is 00:30 in Asia/Shanghai: the day after a campaign phase ends, its tables and summaries.
@app.schedule(Cron(30, 16, "*", "*", "?", "*"), name="generate_phase_reports")
def generate_phase_reports(event: Any) -> dict:
    from shared.reporting import reports

    return {"reports": [report.model_dump(mode="json") for report in reports.phase_end_reports(get_settings())]}


@app.route("/", methods=["POST"], content_types=["*/*"])
@staff_json(app, status=201)
def create_report(call: StaffCall) -> dict:
    from shared.reporting import reports

    return reports.request_report(call.settings, call.principal, call.body).model_dump(mode="json")


@app.route("/", methods=["GET"])
@staff_json(app)
def list_reports(call: StaffCall) -> dict:
    from shared.reporting import reports

    listed = reports.list_reports(call.settings, call.principal)
    return {"reports": [report.model_dump(mode="json") for report in listed]}


# The dashboard page (shared/reporting/dashboard.py), signed in with the console's session: county-wide roles see
# the county, department roles their department.
@app.route("/dashboard", methods=["GET"])
@staff_page(app)
def dashboard_page(settings: Settings, where: Where, request: Request) -> Page:
    from shared.reporting import dashboard

    return dashboard.dashboard_page(settings, where, request.headers, query_params(request))


# --- hotspots (shared/reporting/hotspots.py) ---


@app.schedule(Rate(1, unit=Rate.HOURS), name="detect_hotspots")
def detect_hotspots(event: Any) -> dict:
    from shared.reporting import hotspots

    return hotspots.detect(get_settings()).model_dump(mode="json")


@app.route("/hotspots", methods=["GET"])
@staff_json(app)
def list_hotspots(call: StaffCall) -> dict:
    from shared.reporting import hotspots

    return hotspots.list_hotspots(call.settings, call.principal, call.query)


@app.route("/hotspots/{hotspot_id}", methods=["GET"])
@staff_json(app)
def get_hotspot(call: StaffCall, hotspot_id: str) -> dict:
    from shared.reporting import hotspots

    return hotspots.get_hotspot(call.settings, call.principal, hotspot_id)


@app.route("/hotspots/{hotspot_id}/status", methods=["POST"], content_types=["*/*"])
@staff_json(app)
def change_hotspot_status(call: StaffCall, hotspot_id: str) -> dict:
    from shared.reporting import hotspots

    return hotspots.change_status(call.settings, call.principal, hotspot_id, call.body)


# --- records the county legal office enters (shared/reporting/records.py) and the campaign materials
# (shared/reporting/materials.py) ---


# 00:00 UTC is 08:00 in Asia/Shanghai: reminders reach the legal offices as they open.
@app.schedule(Cron(0, 0, "*", "*", "?", "*"), name="remind_materials")
def remind_materials(event: Any) -> dict:
    from shared.reporting import materials

    return {"sent": [reminder.model_dump() for reminder in materials.remind_materials(get_settings())]}


@app.route("/records/{kind}", methods=["POST"])
@staff_json(app, status=201)
def add_record(call: StaffCall, kind: str) -> dict:
    from shared.reporting import records

    return records.add_record(call.settings, call.principal, kind, call.body)


@app.route("/records/{kind}", methods=["GET"])
@staff_json(app)
def list_records(call: StaffCall, kind: str) -> dict:
    from shared.reporting import records

    return records.list_records(call.settings, call.principal, kind, call.query)


@app.route("/records/{kind}/{record_id}", methods=["PUT"])
@staff_json(app)
def update_record(call: StaffCall, kind: str, record_id: str) -> dict:
    from shared.reporting import records

    return records.update_record(call.settings, call.principal, kind, record_id, call.body)


@app.route("/records/{kind}/{record_id}", methods=["DELETE"])
@staff_json(app)
def delete_record(call: StaffCall, kind: str, record_id: str) -> tuple[int, None]:
    from shared.reporting import records

    records.delete_record(call.settings, call.principal, kind, record_id)
    return 204, None


@app.route("/materials", methods=["GET"])
@staff_json(app)
def list_materials(call: StaffCall) -> dict:
    from shared.reporting import materials

    return materials.overview(call.settings, call.principal)


@app.route("/materials/{material}/uploads", methods=["POST"])
@staff_json(app, status=201)
def material_upload_slot(call: StaffCall, material: str) -> dict:
    from shared.reporting import materials

    return materials.upload_slot(call.settings, call.principal, material, call.body)


@app.route("/materials/{material}/submissions", methods=["POST"])
@staff_json(app)
def submit_material(call: StaffCall, material: str) -> tuple[int, dict]:
    from shared.reporting import materials

    return materials.confirm_submission(call.settings, call.principal, material, call.body)


# --- opinion forms for enterprises (shared/reporting/surveys.py): the county legal office's surveys, as JSON and as
# console pages (shared/reporting/survey_pages.py) ---


@app.route("/console/surveys", methods=["GET"])
@staff_page(app)
def surveys_page(settings: Settings, where: Where, request: Request) -> Page:
    from shared.reporting import survey_pages

    return survey_pages.list_page(settings, where, request.headers)


@app.route("/console/surveys", methods=["POST"], content_types=["*/*"])
@staff_page(app)
def create_survey_page(settings: Settings, where: Where, request: Request) -> Page:
    from shared.reporting import survey_pages

    return survey_pages.submit_survey(settings, where, request.headers, raw_body(request))


@app.route("/console/surveys/{survey_id}", methods=["GET"])
@staff_page(app)
def survey_page(settings: Settings, where: Where, request: Request, survey_id: str) -> Page:
    from shared.reporting import survey_pages

    return survey_pages.survey_page(settings, where, request.headers, survey_id)


@app.route("/surveys", methods=["POST"], content_types=["application/json"])
@staff_json(app, status=201)
def create_survey(call: StaffCall) -> dict:
    from shared.reporting import surveys

    return surveys.create(call.settings, call.principal, call.body)


@app.route("/surveys", methods=["GET"])
@staff_json(app)
def list_surveys(call: StaffCall) -> dict:
    from shared.reporting import surveys

    return surveys.list_surveys(call.settings, call.principal)


@app.route("/surveys/{survey_id}", methods=["GET"])
@staff_json(app)
def get_survey(call: StaffCall, survey_id: str) -> dict:
    from shared.reporting import surveys

    return surveys.get_survey(call.settings, call.principal, survey_id)


@app.route("/openapi.json", methods=["GET"])
@guarded
def get_openapi() -> Response:
    from shared.reporting import openapi

    return json_response(200, openapi.document(app.routes, get_settings().reports_base_path))


@app.route("/health", methods=["GET"])
@guarded
def health() -> Response:
    return http.health("reporting")
