"""What the API takes and says about saved import mappings and import jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from oppflow.schemas import Strict, visible

Table = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
Header = Annotated[str, StringConstraints(min_length=1, max_length=200)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,64}$")]
# header (a column of the file) -> the API field it fills
Columns = Annotated[dict[Header, FieldName], Field(max_length=200)]
MAX_COLUMNS = 200


class MappingCreate(Strict):
    name: Annotated[str, visible(80)] = Field(examples=["Dataverse accounts"])
    table: Table = Field(examples=["accounts"], description="What the file's rows create.")
    columns: Columns = Field(
        examples=[{"Account Name": "name", "Main Phone": "phone"}],
        description="Each column of the file (its header) and the field it fills.",
    )


class MappingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    table: str
    columns: dict[str, str]
    owner_id: uuid.UUID
    created_at: datetime


class JobRead(BaseModel):
    """An import job; ``rows_total`` is known once the worker has counted the file's rows."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    table: str
    file_name: str
    status: str = Field(description="draft, queued, running, done or failed.")
    dry_run: bool
    headers: list[str]
    mapping: dict[str, str]
    rows_total: int | None
    rows_done: int
    created: int
    existing: int = Field(description="Rows whose external id was imported before.")
    refused: int = Field(description="Rows refused (see the report).")
    error: str | None
    has_report: bool
    owner_id: uuid.UUID
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
