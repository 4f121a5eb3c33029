"""The reports API's OpenAPI document (shared/core/openapi.py makes it from the reporting app's routes): each staff
route with the models its logic checks the request with, its path parameters' shapes and every status it answers.
Any route not listed here is described generically (shared/core/openapi.py).
"""

from collections.abc import Mapping
from typing import Any

from shared.core import openapi
from shared.core.openapi import Doc, PerValue, staff_page_doc, staff_route
from shared.reporting import hotspots, materials, records, reports
from shared.reporting.records import RecordKind

JSON = "application/json"


def parameters() -> dict[str, Mapping[str, Any]]:
    """The path parameters of the reporting app, by name."""
    return {
        # `<window days>d-<digest>-<generation>` (shared/reporting/hotspots.py)
        "hotspot_id": {"type": "string", "pattern": "^[0-9]{1,3}d-[0-9a-f]{16}-[0-9]{1,6}$"},
        "kind": {"type": "string", "enum": [kind.value for kind in RecordKind]},
        "record_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "material": {"type": "string", "enum": [item.code for item in materials.materials()]},
    }


def docs() -> dict[str, Doc]:
    """The staff routes' descriptions, by view name (read per request: the materials come from the campaign)."""
    added = {kind.value: model for kind, (model, _) in records.MODELS.items()}
    updated = {kind.value: model for kind, (_, model) in records.MODELS.items()}
    return {
        "dashboard_page": staff_page_doc(
            "统计看板页面", (("period", "统计期间，如 campaign:2026、week:2026-W21、month:2026-05"),)
        ),
        "create_report": staff_route(
            "立即生成报表：统计期间、范围（全县或部门代码）、格式",
            (201, "报表和下载链接", reports.Report),
            (400, 403, 422),
            request=reports.ReportRequest,
        ),
        "list_reports": staff_route(
            "可查看的报表（最新的在前），附 15 分钟有效的下载链接", (200, "报表", JSON), (403,)
        ),
        "list_hotspots": staff_route(
            "热点问题，按状态、类型、时间窗、部门筛选，已排序",
            (200, "热点", JSON),
            (422,),
            query_model=hotspots.HotspotQuery,
        ),
        "get_hotspot": staff_route("一个热点；无权查看时与不存在的回答相同", (200, "热点", JSON), (404,)),
        "change_hotspot_status": staff_route(
            "热点状态：跟踪、解决或重新打开（县法制办）",
            (200, "热点", JSON),
            (400, 403, 404, 409, 422),
            request=hotspots.StatusBody,
        ),
        "add_record": staff_route(
            "登记行政诉讼败诉或错案责任追究（县法制办）",
            (201, "记录", JSON),
            (400, 403, 422),
            request=PerValue("kind", added),
        ),
        "list_records": staff_route(
            "行政诉讼败诉或错案责任追究记录", (200, "记录", JSON), (403, 422), query_model=records.ListQuery
        ),
        "update_record": staff_route(
            "修改记录（version 为读到的版本）",
            (200, "记录", JSON),
            (400, 403, 404, 409, 422),
            request=PerValue("kind", updated),
        ),
        "delete_record": staff_route("删除记录", (204, "已删除", ""), (403, 404, 409)),
        "list_materials": staff_route("活动材料报送情况", (200, "各部门的报送情况", JSON), (403,)),
        "material_upload_slot": staff_route(
            "申请上传一份活动材料：直传 S3 的预签名 POST",
            (201, "上传地址和表单字段", JSON),
            (400, 403, 422),
            request=materials.SlotRequest,
        ),
        "submit_material": staff_route(
            "确认已上传的活动材料", (200, "报送记录", JSON), (400, 403, 422), request=materials.ConfirmRequest
        ),
    }


def document(routes: Mapping[str, Mapping[str, Any]], base_path: str) -> dict:
    """OpenAPI 3.1 for the reporting app's `routes`."""
    return openapi.staff_document(routes, base_path, "统计报表 API", docs(), parameters())
