"""Errors shown to callers: an HTTP status, a machine code, a Chinese message and the offending fields."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.core.settings import Settings

ModelT = TypeVar("ModelT", bound=BaseModel)


class FieldError(BaseModel):
    field: str
    code: str
    message: str


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or []

    def body(self, **extra: Any) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": [field.model_dump() for field in self.fields],
                **extra,
            }
        }


# Chinese wording for pydantic's error types; anything else falls back to a generic message.
_MESSAGES = {
    "missing": "缺少必填项",
    "string_type": "应为文字",
    "bool_type": "应为 true 或 false",
    "string_too_short": "不能为空",
    "string_too_long": "内容过长",
    "extra_forbidden": "不认识的字段",
    "model_type": "格式不正确，应为对象",
    "model_attributes_type": "格式不正确，应为对象",
    "dict_type": "格式不正确，应为对象",
    "date_type": "应为日期，格式如 2026-09-20",
    "date_parsing": "应为日期，格式如 2026-09-20",
    "date_from_datetime_parsing": "应为日期，格式如 2026-09-20",
    "date_from_datetime_inexact": "应为日期，格式如 2026-09-20",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "list_type": "应为列表",
    "too_short": "至少填写一项",
    "too_long": "项数过多",
    "literal_error": "不是可选的值",
    "enum": "不是可选的值",
}


def from_validation_error(error: ValidationError, code: str = "validation_failed") -> ApiError:
    fields = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "body"
        # Our own checks raise PydanticCustomError("invalid_...", "<Chinese message>").
        own_message = item["msg"] if item["type"].startswith("invalid_") else None
        message = own_message or _MESSAGES.get(item["type"], "格式不正确")
        fields.append(FieldError(field=location, code=item["type"], message=str(message)))
    return ApiError(422, code, "提交的内容有误，请按提示修改后重新提交", fields)


def parse_model(model: type[ModelT], body: bytes) -> ModelT:
    """A JSON request body as `model`: a 400 when it is not JSON, a 422 naming each wrong field otherwise."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise ApiError(400, "invalid_json", "请求内容不是有效的 JSON") from None
        raise from_validation_error(error) from None


def check_json_body(settings: Settings, body: bytes, content_type: str) -> None:
    """A JSON API's body: declared as JSON and within the size limit, or a 415 / 413."""
    if (content_type or "").split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "请以 JSON 格式（Content-Type: application/json）提交")
    if len(body) > settings.max_body_bytes:
        raise ApiError(413, "payload_too_large", f"提交的内容超过 {settings.max_body_bytes // 1024} KB 上限")
