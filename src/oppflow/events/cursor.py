"""Feed cursors: ``<tx_id>-<seq>``, the position of the last event a reader has seen."""

from __future__ import annotations

from typing import NamedTuple

from oppflow.errors import ValidationFailed

PATTERN = r"^[0-9]{1,19}-[0-9]{1,19}$"
_LARGEST = 2**63 - 1


class Cursor(NamedTuple):
    tx_id: int
    seq: int

    def __str__(self) -> str:
        return f"{self.tx_id}-{self.seq}"


START = Cursor(0, 0)


def parse(text: str | None) -> Cursor:
    """The cursor ``text`` names (the start when none); refused (422) when it is not one."""
    if not text:
        return START
    tx_id, _, seq = text.partition("-")
    if not (tx_id.isdigit() and seq.isdigit()) or max(int(tx_id), int(seq)) > _LARGEST:
        raise ValidationFailed("The cursor is not one this API gave out.", field="after")
    return Cursor(int(tx_id), int(seq))
