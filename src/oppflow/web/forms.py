"""Reading HTML forms: step fields by kind, optional values, and validation into the services'
own input models (a bad value is a message naming the field, not an error page)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from oppflow.errors import ValidationFailed
from oppflow.web.i18n import I18n

M = TypeVar("M", bound=BaseModel)
TRUE_VALUES = frozenset({"on", "true", "1", "yes"})


async def read_form(request: Request) -> FormData:
    """The posted form (already parsed and cached by the CSRF guard)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; empty means no value."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None


def flag(form: FormData, name: str) -> bool:
    value = form.get(name)
    return isinstance(value, str) and value.lower() in TRUE_VALUES


def version(form: FormData) -> int | None:
    """The record version the form was rendered with (If-Match); none when absent or odd."""
    value = text(form, "version")
    return int(value) if value and value.isdigit() and len(value) < 18 else None


def record_id(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def field_values(form: FormData, fields: list[tuple[str, str]]) -> dict[str, Any]:
    """The values of ``fields`` (name, kind): a missing checkbox is false, an empty box none."""
    return {
        name: flag(form, name) if kind == "boolean" else text(form, name) for name, kind in fields
    }


def validated(model: type[M], values: dict[str, Any], i18n: I18n, labels: dict[str, str]) -> M:
    """``values`` as ``model``; the first invalid one becomes a message naming its label."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        label = labels.get(where, where or i18n.gettext("Value"))
        message = i18n.gettext("%(field)s: this value is not valid (%(reason)s).") % {
            "field": label,
            "reason": first["msg"],
        }
        raise ValidationFailed(message, field=where) from None
