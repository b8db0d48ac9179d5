"""What every configuration section shares: the names' patterns, and sections that refuse unknown keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

TypeName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
ServiceName = Annotated[str, Field(min_length=1, max_length=200)]  # the receiver checks it as any name


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
