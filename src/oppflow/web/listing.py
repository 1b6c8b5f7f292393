"""List pages: lenient query parameters, pages, and links that keep the other parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def lenient(model: type[M], params: Mapping[str, Any]) -> tuple[M, bool]:
    """``params`` as ``model``, dropping the values that do not fit (a hand-edited address
    shows the list, not an error); and whether anything was dropped."""
    values = {key: value for key, value in params.items() if value not in (None, "")}
    try:
        return model.model_validate(values), False
    except ValidationError as error:
        bad = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
        kept = {key: value for key, value in values.items() if key not in bad}
        try:
            return model.model_validate(kept), True
        except ValidationError:
            return model.model_validate({}), True


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int
    total: int

    @property
    def first(self) -> int:
        return min(self.total, (self.page - 1) * self.per_page + 1)

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page * self.per_page < self.total else None


def url_builder(path: str, current: Mapping[str, Any]) -> Callable[..., str]:
    """A function giving ``path`` with the current parameters, some of them changed; a change
    of anything but the page goes back to the first page."""

    def build(**changes: Any) -> str:
        merged = {**current, **changes}
        if "page" not in changes:
            merged.pop("page", None)
        pairs = [(key, str(value)) for key, value in merged.items() if value not in (None, "")]
        return f"{path}?{urlencode(pairs)}" if pairs else path

    return build
