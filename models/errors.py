"""Errors every store and model raises, so callers catch one family whatever the backend."""

from __future__ import annotations


class OffsyncError(Exception):
    """Base of every error raised by `models`. `status` and `code` map onto the REST error body."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "details": self.details,
        }


class ValidationError(OffsyncError):
    """One or more fields are invalid. `details` maps each field name to its messages."""

    status = 422
    code = "VALIDATION_FAILED"

    def __init__(self, model: str, details: dict[str, list[str]]) -> None:
        parts = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in details.items())
        super().__init__(f"{model} is invalid: {parts}", details)


class FilterError(OffsyncError):
    """A `where`/`order`/`limit`/`skip` filter that cannot be understood."""

    status = 400
    code = "INVALID_FILTER"


class NotFoundError(OffsyncError):
    status = 404
    code = "NOT_FOUND"


class ConflictError(OffsyncError):
    """A write based on a revision that is no longer current (someone else wrote first)."""

    status = 409
    code = "REVISION_CONFLICT"


class AuthenticationError(OffsyncError):
    """The server does not know who is asking (no session, or it expired): log in again.
    Local data is untouched; sync resumes after the next log-in."""

    status = 401
    code = "NOT_AUTHENTICATED"


class AccessDeniedError(OffsyncError):
    status = 403
    code = "ACCESS_DENIED"


class StorageFullError(OffsyncError):
    """The local storage refused the write (quota exceeded). Nothing was changed."""

    status = 507
    code = "STORAGE_FULL"


class CorruptEntryError(OffsyncError):
    """A stored entry cannot be read back. It is left untouched so nothing is lost."""

    status = 500
    code = "CORRUPT_ENTRY"


class TransportError(OffsyncError):
    """The remote side could not be reached or answered with something that is not our protocol."""

    status = 503
    code = "TRANSPORT_ERROR"


class DatabaseChangedError(TransportError):
    """A server answered from another database than the one it named when this replication
    began (it was switched or restored meanwhile): the pass stops, and the next one, seeing the
    new identity, resyncs fully (docs/PROTOCOL.md, "A server that changed")."""

    code = "DATABASE_CHANGED"


class CheckpointExpiredError(OffsyncError):
    """The changes after this checkpoint include purged tombstones: the reader must resync fully."""

    status = 410
    code = "CHECKPOINT_EXPIRED"


class InvalidBodyError(OffsyncError):
    """A request body is JSON, but not the object a document (or a sync message) needs."""

    status = 400
    code = "INVALID_BODY"


class PayloadTooLargeError(OffsyncError):
    """A request body, or the number of items in it, is past the server's limit."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"


class UpdateRequiredError(OffsyncError):
    """The server runs a newer version of a model than the client: the client must load the new
    code (reload the page) before it may pull, rather than receive fields its code would drop
    (docs/PROTOCOL.md, "Model versions"). Its pushes are still accepted."""

    status = 409
    code = "UPDATE_REQUIRED"


class VersionAheadError(OffsyncError):
    """The client runs a newer version of a model than the server (a deploy still under way):
    nothing is written, the client keeps its data and tries again later."""

    status = 409
    code = "VERSION_AHEAD"


class ModelVersionError(OffsyncError):
    """A model change that cannot be migrated automatically (a missing step, a step that fails
    on a sample, stored documents newer than the code): refused at start-up."""

    status = 500
    code = "MODEL_VERSION_INVALID"
