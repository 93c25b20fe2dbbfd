"""``load_center``: one YAML file, or a folder of them, into a ``Center``.

A folder's ``*.yaml`` / ``*.yml`` files (not hidden, not in subfolders) are read in name
order and merged: each top-level list is concatenated (``tenants`` from every file); a name
defined twice, in one file or in two, is an error naming both places. Every problem is reported
at once, with its file, line and field: YAML syntax, then the model's own checks (types,
unknown and missing fields, patterns, regexes, timezones), then references within each tenant
(a tenant whose fields are wrong is not checked for references until they are right).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from callcenter.center.errors import CenterError, FieldPath, FieldProblems, Problem, field_text
from callcenter.center.rates import RateFileError
from callcenter.center.tenant import Center
from callcenter.center.yamlsource import YamlFile, read_yaml

__all__ = ["center_files", "load_center"]

# Fields whose value is never repeated in a message (messages end up in logs and terminals).
_SECRETS = {"password", "pin"}


def load_center(path: str | Path) -> Center:
    """Read and check the center; ``CenterError`` lists every problem found."""
    root = Path(path)
    problems: list[Problem] = []
    files: list[YamlFile] = []
    for name in center_files(root):
        try:
            files.append(read_yaml(name))
        except CenterError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(files[-1].problems)
    merged = _Merged(root)
    for file in files:
        problems.extend(merged.add(file))
    center: Center | None = None
    # Nothing read (syntax errors, a list at the top): the model would only add noise.
    if files and (merged.origins or not problems):
        try:
            center = Center.model_validate(merged.data)
        except ValidationError as exc:
            problems.extend(merged.problems(exc))
    if problems or center is None:
        raise CenterError(sorted(problems, key=lambda p: (p.file, p.line or 0)))
    return center


def center_files(root: Path) -> list[Path]:
    """The YAML files of a center: the file itself, or a folder's ``*.yaml``/``*.yml``."""
    if root.is_dir():
        files = sorted(
            p
            for p in root.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise CenterError([Problem(str(root), None, "", "no .yaml files in this folder")])
        return files
    if not root.exists():
        raise CenterError([Problem(str(root), None, "", "file not found")])
    return [root]


@dataclass(frozen=True)
class _Origin:
    """Where an entry of the merged data comes from: its file and its place in that file."""

    file: YamlFile
    place: FieldPath


class _Merged:
    """The files' data merged into one, remembering where each top-level entry came from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data: dict[str, Any] = {}
        self.origins: dict[FieldPath, _Origin] = {}
        self.names: dict[tuple[str, str], tuple[YamlFile, int]] = {}
        self.files: list[YamlFile] = []

    def add(self, file: YamlFile) -> list[Problem]:
        self.files.append(file)
        if file.data is None:  # an empty file (or only comments)
            return []
        if not isinstance(file.data, dict):
            return [Problem(str(file.path), 1, "", "expected a mapping at the top level")]
        problems: list[Problem] = []
        for key, value in file.data.items():
            key = str(key)
            earlier = self.origins.get((key,))
            if isinstance(value, list) and isinstance(self.data.get(key, []), list):
                problems.extend(self._extend(file, key, value))
            elif earlier is not None:
                first = f"{earlier.file.path}:{earlier.file.line_of((key,))}"
                problems.append(
                    Problem(
                        str(file.path),
                        file.line_of((key,)),
                        key,
                        f"also set in {first}: only lists are merged across files",
                    )
                )
            else:
                self.data[key] = value
                self.origins[(key,)] = _Origin(file, (key,))
        return problems

    def _extend(self, file: YamlFile, key: str, items: list[Any]) -> list[Problem]:
        problems: list[Problem] = []
        merged: list[Any] = self.data.setdefault(key, [])
        self.origins.setdefault((key,), _Origin(file, (key,)))
        for n, item in enumerate(items):
            name = item.get("name") if isinstance(item, dict) else None
            if isinstance(name, str):
                first = self.names.setdefault((key, name), (file, n))
                if first != (file, n):
                    # Left out of the merged data, so that it is reported once, here.
                    where = f"{first[0].path}:{first[0].line_of((key, first[1], 'name'))}"
                    problems.append(
                        Problem(
                            str(file.path),
                            file.line_of((key, n, "name")),
                            field_text((key, n, "name")),
                            f"{key.removesuffix('s')} {name!r} is already defined at {where}",
                        )
                    )
                    continue
            if key == "tenants" and isinstance(item, dict):
                _resolve_rate_files(item, file.path.parent)
            self.origins[(key, len(merged))] = _Origin(file, (key, n))
            merged.append(item)
        return problems

    def problems(self, exc: ValidationError) -> list[Problem]:
        problems: list[Problem] = []
        for error in exc.errors(include_url=False):
            loc = tuple(part for part in error["loc"] if part != "[key]")
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, FieldProblems):
                problems.extend(
                    self._at((*loc, *place), message) for place, message in cause.problems
                )
            elif isinstance(cause, RateFileError):
                field = self._at(loc, "").field
                problems.extend(
                    Problem(str(cause.file), line, field, message)
                    for line, message in cause.problems
                )
            else:
                problems.append(self._at(loc, _message(error)))
        return problems

    def _at(self, loc: Sequence[str | int], message: str) -> Problem:
        """A problem at ``loc`` of the merged data, placed in the file it came from."""
        for size in (2, 1):
            origin = self.origins.get(tuple(loc[:size]))
            if origin is not None:
                place = (*origin.place, *loc[size:])
                return Problem(
                    str(origin.file.path), origin.file.line_of(place), field_text(place), message
                )
        if len(self.files) == 1:  # e.g. a field missing at the top of the only file
            file = self.files[0]
            return Problem(str(file.path), file.line_of(loc), field_text(loc), message)
        return Problem(str(self.root), None, field_text(loc), message)


def _resolve_rate_files(tenant: dict[Any, Any], folder: Path) -> None:
    # Rates files are named relative to the YAML file that names them; a Path (not text) tells
    # the model the name is already resolved.
    for route in tenant.get("outbound_routes") or []:
        rates = route.get("rates") if isinstance(route, dict) else None
        if isinstance(rates, dict):
            for gateway, name in rates.items():
                if isinstance(name, str) and name:
                    rates[gateway] = folder / name


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"])
    cause = error.get("ctx", {}).get("error")
    if kind in ("value_error", "assertion_error") and cause is not None:
        return str(cause)
    message = error["msg"]
    value = error.get("input")
    secret = bool(error["loc"]) and error["loc"][-1] in _SECRETS
    if not secret and (isinstance(value, str | int | float | bool) or value is None):
        message += f" (got {value!r})"
    return message


def _unknown_field(loc: tuple[str | int, ...]) -> str:
    model = _model_at(loc[:-1])
    if model is None:
        return "unknown field"
    fields = [info.alias or name for name, info in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), fields, n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; expected one of: {', '.join(fields)}"


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class found at ``loc`` inside a ``Center``, by the fields' annotations."""
    current: Any = Center
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = current.model_fields
            info = next((f for n, f in fields.items() if (f.alias or n) == part), None)
            if info is None:
                return None
            current = info.annotation
        elif get_origin(current) in (list, tuple):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation
