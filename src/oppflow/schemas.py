"""Shapes shared by every domain: pages of results and bounded string types."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from oppflow.errors import ValidationFailed

T = TypeVar("T")
# No NUL character: PostgreSQL cannot store one (SQLite would), so both refuse it.
NO_NUL = r"^[^\u0000]*$"
# Some character that strip_whitespace keeps (Unicode White_Space is what it strips), so that a
# text of spaces, which stripping empties, is invalid in the document as it is in the code.
NOT_BLANK = (
    r"^[^\u0000]*[^\u0000\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
    r"[^\u0000]*$"
)


def visible(max_length: int) -> StringConstraints:
    """A text that must hold more than white space, stripped, at most ``max_length`` long."""
    return StringConstraints(
        strip_whitespace=True, min_length=1, max_length=max_length, pattern=NOT_BLANK
    )


Name = Annotated[str, visible(300)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # Only what the document says (format: date): pydantic alone would also read a number, or
    # a string of digits, as seconds since 1970.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _json_integer(value: Any) -> Any:
    # An integer, as the document says; pydantic alone would also take true and false. Digits
    # in a string stay accepted: the web pages' forms send text.
    if isinstance(value, bool):
        raise ValueError("an integer is a number, not true or false")
    return value


def _json_boolean(value: Any) -> Any:
    # true or false, as the document says; pydantic alone would also take 0 and 1. Words
    # ("true", "off") stay accepted: the web pages' forms send text.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a boolean is true or false, not a number")
    return value


JsonBool = Annotated[bool, BeforeValidator(_json_boolean)]
# After the bounds, as in Annotated[int, Field(ge=0), JSON_INTEGER], so that the document
# keeps them.
JSON_INTEGER = BeforeValidator(_json_integer)


def without_null(fields: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """A ``json_schema_extra`` for fields that may be left out but never sent as null (a model
    validator refuses the null): the document shows them without their null branch."""

    def edit(schema: dict[str, Any]) -> None:
        for name in fields:
            found = schema.get("properties", {}).get(name)
            if found is None or "anyOf" not in found:
                continue
            branches = [b for b in found.pop("anyOf") if b.get("type") != "null"]
            found.pop("default", None)
            found.update(branches[0] if len(branches) == 1 else {"anyOf": branches})

    return edit


class Strict(BaseModel):
    """Input models refuse unknown fields, so a typo is an error rather than a silent no-op."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        # PostgreSQL cannot store NUL in text (SQLite would): refuse it on every database alike.
        _check_no_nul(data, ())
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The document says what _refuse_nul checks: every free text refuses NUL.
        schema = handler(core_schema)
        for field in handler.resolve_ref_schema(schema).get("properties", {}).values():
            _forbid_nul(field)
        return schema


def _forbid_nul(schema: dict[str, Any]) -> None:
    """Add ``NO_NUL`` to a property's free-text strings (not enums, formats or patterns)."""
    for branch in schema.get("anyOf", []):
        _forbid_nul(branch)
    if isinstance(schema.get("items"), dict):
        _forbid_nul(schema["items"])
    free = not {"enum", "const", "format", "pattern"} & schema.keys()
    if schema.get("type") == "string" and free:
        schema["pattern"] = NO_NUL


def _check_no_nul(value: Any, where: tuple[str | int, ...]) -> None:
    if isinstance(value, str) and "\x00" in value:
        field = ".".join(str(part) for part in where) or "value"
        raise ValueError(f"{field} contains a NUL character")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_no_nul(item, (*where, str(key)))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_no_nul(item, (*where, index))


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, record_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(record_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, record_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:  # the cursors this API gives out are in UTC
            raise ValueError("a cursor's time carries its zone")
        return moment.astimezone(UTC), uuid.UUID(record_id)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValidationFailed("The cursor is not one this API gave out.") from error
