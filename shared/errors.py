"""Errors shown to callers: an HTTP status, a machine code, a Chinese message and the offending fields."""

from typing import Any

from pydantic import BaseModel, ValidationError


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
