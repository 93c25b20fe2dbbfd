"""What goes wrong in a center file, said so that the operator can go straight to the line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CenterError", "FieldPath", "FieldProblems", "Problem", "field_text"]

# A place in the configuration: ("tenants", 0, "dids", 3, "destination").
FieldPath = tuple[str | int, ...]


def field_text(path: Sequence[str | int]) -> str:
    """``tenants.0.dids.3.destination``, the way pydantic and the ACD loader write a place."""
    texts = (str(part) for part in path)
    # A key holding a line break is itself a problem; show it escaped, on one line.
    return ".".join(text if text.isprintable() else repr(text) for text in texts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong: the file (a YAML or a rates CSV), its line (1-based), the field."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"


class CenterError(Exception):
    """The center's configuration cannot be used; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FieldProblems(ValueError):
    """Raised by a model validator that found several problems below the model it checks.

    Pydantic reports a validator's error at the model's own place; the loader unpacks these
    (pydantic keeps the exception in the error's ``ctx``) so that each problem gets the line of
    its own field. Used directly, the message still names every field.
    """

    def __init__(self, problems: Sequence[tuple[FieldPath, str]]) -> None:
        self.problems = list(problems)
        super().__init__(
            "; ".join(f"{field_text(path)}: {msg}" if path else msg for path, msg in self.problems)
        )
