"""The opinion forms in the staff console (征求意见, served by the reporting service at /reports/console/surveys,
in the console's frame and with its session): the county legal office creates a survey and downloads its sheet of
links; it and the auditors read the answers, per department and aspect; the county legal office files an answer
describing a concrete problem as a complaint (the form posts to the routing console,
shared/routing/console.py `file_survey_answer`). The logic is shared/reporting/surveys.py's.
"""

import json
from collections.abc import Mapping

from shared.core import reference_data
from shared.core.errors import ApiError
from shared.core.pages import Page
from shared.core.settings import Settings
from shared.core.staff_pages import Where, csrf_refused, read_form, redirect, same_secret, session, staff_page
from shared.core.surveys import questionnaire
from shared.reporting import surveys


def list_page(
    settings: Settings,
    where: Where,
    headers: Mapping[str, str],
    error: ApiError | None = None,
    values: Mapping[str, str] | None = None,
) -> Page:
    """The campaign's surveys, newest first, and for the county legal office the form that creates one."""
    signed_in = session(settings, headers)
    listed = surveys.list_surveys(settings, signed_in.principal)
    return staff_page(
        "console_surveys.html",
        where,
        signed_in,
        status=error.status if error else 200,
        items=listed["items"],
        creates=signed_in.principal.role == "county_admin",
        max_links=questionnaire().max_links,
        values=values or {},
        error=error,
    )


def submit_survey(settings: Settings, where: Where, headers: Mapping[str, str], body: bytes) -> Page:
    """Create a survey from the form; on to its page (with the sheet to print), or the list with why not."""
    signed_in = session(settings, headers)
    values = dict(read_form(body, headers.get("content-type", "")))
    if not same_secret(values.get("csrf"), signed_in.csrf):
        raise csrf_refused()
    links = values.get("links", "").strip()
    request = {"title": values.get("title", ""), "links": int(links) if links.isdigit() else links}
    try:
        created = surveys.create(settings, signed_in.principal, json.dumps(request, ensure_ascii=False).encode())
    except ApiError as error:
        if error.status in (401, 403):
            raise
        return list_page(settings, where, headers, error, values)
    return redirect(f"{where.surveys}/{created['id']}")


def survey_page(settings: Settings, where: Where, headers: Mapping[str, str], survey_id: str) -> Page:
    """One survey: its figures, the ratings per department and aspect, and the anonymous answers."""
    signed_in = session(settings, headers)
    shown = surveys.get_survey(settings, signed_in.principal, survey_id)
    form = questionnaire()
    return staff_page(
        "console_survey.html",
        where,
        signed_in,
        survey=shown,
        aspects=form.aspects,
        levels={level.code: level.label for level in form.levels},
        departments={department.code: department.name for department in reference_data.departments()},
        files=signed_in.principal.role == "county_admin",
    )
