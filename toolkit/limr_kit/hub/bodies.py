"""The request bodies the Hub server accepts, as pydantic models: anything else is a 400, never a 500."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from limr_kit.hub.validation import ApiError


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)  # the client sends fields we do not use


class CreateRepo(_Body):
    type: str | None = None
    organization: str | None = None
    name: str
    private: bool | None = None
    visibility: str | None = None


class DeleteRepo(_Body):
    type: str | None = None
    organization: str | None = None
    name: str


class ValidateYaml(_Body):
    content: str = ""


class PreuploadFile(_Body):
    path: str
    size: int = Field(0, ge=0)
    sample: str = ""


class Preupload(_Body):
    files: list[PreuploadFile] = Field(default_factory=list, max_length=10_000)


class LfsBatch(_Body):
    operation: str
    objects: list[dict[str, Any]] = Field(default_factory=list, max_length=10_000)


class LfsVerify(_Body):
    oid: str
    size: int | None = Field(None, ge=0)


class CommitHeader(_Body):
    summary: str = ""
    description: str = ""
    parentCommit: str | None = None  # noqa: N815 (the Hub's field name)


class CommitLine(_Body):
    key: str
    value: dict[str, Any]


class FileOp(_Body):
    path: str
    content: str
    encoding: str = "base64"


class LfsFileOp(_Body):
    path: str
    oid: str
    algo: str = "sha256"
    size: int | None = None


class DeletedOp(_Body):
    path: str


class Tag(_Body):
    tag: str


class Branch(_Body):
    startingPoint: str | None = None  # noqa: N815 (the Hub's field name)


Model = TypeVar("Model", bound=_Body)


def load_json(data: bytes, what: str = "JSON body") -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"Malformed {what}: {str(exc)[:200]}") from exc


def parse(model: type[Model], value: Any, what: str = "request body") -> Model:
    """``value`` as a ``model``, or a 400 naming the first field that is wrong."""
    try:
        return model.model_validate(value)
    except (ValidationError, RecursionError) as exc:
        errors = exc.errors(include_input=False) if isinstance(exc, ValidationError) else []
        where = ".".join(str(part) for part in errors[0]["loc"]) if errors else ""
        detail = f"{where}: {errors[0]['msg']}" if errors else "too deeply nested"
        raise ApiError(400, f"Malformed {what} ({model.__name__}) at {detail}") from exc


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, f"The {what} is not valid base64.") from exc
