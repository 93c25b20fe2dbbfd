"""API errors: a status, a slug (``error_id``) a program can test, a message a person can act
on, and details. One middleware (``app.py``) turns these, the services' errors and anything
unexpected into the same JSON shape: ``{"error_id", "message", "details"}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "Forbidden", "NotFound", "Unauthorized", "Unprocessable"]


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error_id: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_id = error_id
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error_id": self.error_id, "message": self.message, "details": self.details}


class Unauthorized(ApiError):
    def __init__(self, message: str = "sign in first, or send an API token") -> None:
        super().__init__(401, "unauthorized", message)


class Forbidden(ApiError):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(403, "forbidden", message, details)


class NotFound(ApiError):
    def __init__(self, error_id: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(404, error_id, message, details)


class Unprocessable(ApiError):
    def __init__(self, error_id: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(422, error_id, message, details)
