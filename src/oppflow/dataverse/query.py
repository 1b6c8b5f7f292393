"""The query options of a collection request, read and checked against the allow-list."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement

from oppflow.dataverse import filter as odata_filter
from oppflow.dataverse.entities import ENTITY_SETS, Column, EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.translate import column_of, condition, stored_column_of

DEFAULT_PAGE = 5000  # Dataverse's own page size
_PAGE_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d{1,9})")
_KNOWN = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$expand"}


@dataclass(frozen=True)
class Order:
    column: Column
    descending: bool


@dataclass
class Query:
    selected: list[Column] | None = None
    where: ColumnElement[bool] | None = None
    order: list[Order] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    skip: int = 0
    expand: list[Column] = field(default_factory=list)


def read_query(entity: EntitySet, options: Mapping[str, str]) -> Query:
    """The query of ``options``; an unknown ``$`` option or a bad value is a 400."""
    for name in options:
        if name.startswith("$") and name not in _KNOWN:
            raise BadQuery(f"The query option '{name}' is not supported.")
    query = Query(selected=select_of(entity, options.get("$select")))
    if options.get("$filter"):
        query.where = condition(entity, odata_filter.parse(options["$filter"]))
    query.order = order_of(entity, options.get("$orderby"))
    query.top = _whole(options.get("$top"), "$top")
    query.count = options.get("$count", "false").lower() == "true"
    query.skip = _whole(options.get("$skiptoken"), "$skiptoken") or 0
    query.expand = expand_of(entity, options.get("$expand"))
    return query


def select_of(entity: EntitySet, text: str | None) -> list[Column] | None:
    if not text:
        return None
    return [column_of(entity, name.strip()) for name in text.split(",")]


def order_of(entity: EntitySet, text: str | None) -> list[Order]:
    if not text:
        return []
    order = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise BadQuery(f"$orderby: cannot read '{part.strip()}'.")
        descending = len(words) == 2 and words[1] == "desc"
        order.append(Order(stored_column_of(entity, words[0]), descending))
    return order


def expand_of(entity: EntitySet, text: str | None) -> list[Column]:
    """One level of lookups: ``parentaccountid`` or ``parentaccountid($select=name)``."""
    if not text:
        return []
    navigations = entity.navigations()
    expanded = []
    for part in text.split(","):
        name = part.split("(", 1)[0].strip()
        if name not in navigations or navigations[name].target not in ENTITY_SETS:
            raise BadQuery(f"$expand: '{name}' is not a navigation property of {entity.type_name}.")
        expanded.append(navigations[name])
    return expanded


def _whole(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 9:
        raise BadQuery(f"{option} must be a whole number.")
    return int(text)


def page_size(prefer: str | None) -> int:
    """The page size a ``Prefer: odata.maxpagesize=N`` asks for (other preferences ignored)."""
    found = _PAGE_SIZE.search(prefer or "")
    if found is None:
        return DEFAULT_PAGE
    return max(1, min(int(found.group(1)), DEFAULT_PAGE))
