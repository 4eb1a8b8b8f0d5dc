"""Files limr-kit writes and reads back (score summary, curation manifest, grade report): one typed home each.

Each is a frozen pydantic model whose first field, ``schema`` (``limr-kit/<kind>@<version>``), names its kind
and version; :meth:`Artifact.load` refuses a file of another kind or version, or a malformed one, with one
:class:`~limr_kit.errors.InputError` that says what to run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from limr_kit._io import dumps, write_json
from limr_kit.errors import InputError, validation_problems


class Artifact(BaseModel):
    """Base of limr-kit's own JSON artifacts; a subclass declares ``schema_id`` (alias ``schema``) first."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
    WHAT: ClassVar[str] = "limr-kit file"
    REDO: ClassVar[str] = "Write it again with this limr-kit."

    @classmethod
    def schema_name(cls) -> str:
        return str(cls.model_fields["schema_id"].default)

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """The artifact from Python values, made what its file will hold (tuples as lists, NaN as None)."""
        return cls.model_validate(json.loads(dumps({"schema": cls.schema_name(), **fields})))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, as written (``schema`` first; NaN as null; optional fields only where they were given)."""
        data = json.loads(dumps(self.model_dump(mode="json", by_alias=True, exclude_unset=True)))
        data.pop("schema", None)  # first, and written even when the default was not set explicitly
        return {"schema": self.schema_name(), **data}

    def save(self, path: str | Path) -> Path:
        """Write atomically as indented JSON."""
        write_json(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read ``path``; a missing, malformed, old or foreign file is one :class:`InputError`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InputError(f"{path} does not exist; expected a {cls.WHAT}. {cls.REDO}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path} is not valid JSON, so not a {cls.WHAT}. {cls.REDO}") from exc
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: Any, where: str | Path) -> Self:
        """Validate the JSON form of the artifact read from ``where``."""
        found = data.get("schema") if isinstance(data, dict) else None
        if found != cls.schema_name():
            version = f"schema {found!r}" if found else "no schema id: an older limr-kit or another tool wrote it"
            raise InputError(
                f"{where} is not a {cls.WHAT} of this version ({version}; expected {cls.schema_name()!r}). {cls.REDO}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(validation_problems(exc)[:3])
            raise InputError(f"{where} is not a valid {cls.WHAT} ({problems}). {cls.REDO}") from exc
