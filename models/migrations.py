"""Model versions: how a document written under an older version of a model is brought to the
current one, on both sides, by the same plain functions.

A model declares its `version` (1 when it declares none) and, in `migrations`, one step from
each older version to the next: `migrations = {1: v1_to_v2, 2: v2_to_v3}`. A step takes a copy
of a document's data dict as that version wrote it and returns the data of the next version. It
must be a pure function of the data (no clock, no randomness): the server and every browser
migrate the same revision independently, and must end with the same body, since a migration
keeps the revision (docs/PROTOCOL.md, "Model versions"). `migration_samples` gives documents of
older versions (`{1: [{...}]}`); `check_model` runs every step on them at start-up.

Every body a document carries is migrated: its data, its merge base and its unacknowledged
bodies, so a later three-way merge compares bodies of one version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from .document import Document
from .errors import ModelVersionError, ValidationError
from .ownership import owner_of

Step = Callable[[dict], dict]


def version_of(model: Any) -> int:
    """The version a model declares (1 when it declares none)."""
    return getattr(model, "version", 1)


def steps_of(model: Any) -> dict[int, Step]:
    return dict(getattr(model, "migrations", None) or {})


def oldest_version(model: Any) -> int:
    """The oldest version this code still migrates from: the first step of an unbroken chain
    ending at the current version (the current version itself when there are no steps)."""
    steps, version = steps_of(model), version_of(model)
    oldest = version
    while oldest - 1 in steps:
        oldest -= 1
    return oldest


def check_path(model: Any, stored: int) -> None:
    """Raise ModelVersionError unless documents of version `stored` can reach the current one."""
    name, version = model.__name__, version_of(model)
    if stored > version:
        raise ModelVersionError(
            f"{name}: the stored documents are version {stored}, newer than this code's "
            f"version {version}: load the newer code", {"model": name, "version": stored})
    if stored < oldest_version(model):
        missing = max(k for k in range(stored, version) if k not in steps_of(model))
        raise ModelVersionError(
            f"{name} version {version}: no migration from version {missing} to {missing + 1} "
            f"(declare {name}.migrations[{missing}]), so documents of version {stored} cannot "
            "be read", {"model": name, "version": missing})


def migrate_body(model: Any, body: dict | None, stored: int) -> dict | None:
    """`body` (written under version `stored`) under the current version; None stays None."""
    if body is None:
        return None
    steps = steps_of(model)
    for version in range(stored, version_of(model)):
        body = steps[version](dict(body))
        if not isinstance(body, dict):
            raise ModelVersionError(
                f"{model.__name__}: the migration from version {version} returned "
                f"{type(body).__name__}, not a dict", {"model": model.__name__,
                                                       "version": version})
    return body


def migrate_document(model: Any, doc: Document, stored: int) -> Document:
    """`doc` with every body it carries under the current version; its revision stays. A step
    that fails raises ModelVersionError naming the model, the version and the document."""
    if stored == version_of(model):
        return doc
    check_path(model, stored)
    try:
        data = migrate_body(model, doc.data, stored)
        return replace(
            doc, data=data, owner=owner_of(doc.model, data, doc.owner),
            base_data=migrate_body(model, doc.base_data, stored),
            unacked=tuple((rev, migrate_body(model, body, stored)) for rev, body in doc.unacked))
    except ModelVersionError:
        raise
    except Exception as exc:
        raise ModelVersionError(
            f"{model.__name__}: migrating {doc.model} {doc.id!r} from version {stored} failed: "
            f"{type(exc).__name__}: {exc}",
            {"model": model.__name__, "version": stored, "id": doc.id}) from exc


def migrate_documents(model: Any, docs: list[Document], stored: int) -> list[Document]:
    return [migrate_document(model, doc, stored) for doc in docs]


def check_model(model: Any) -> None:
    """Refuse a model change that cannot be migrated automatically: a version that is not a
    positive integer, a step declared for no older version, a step missing between two versions
    that still have one, or a step that raises on a sample (or whose result the current model
    does not accept). The message names the model and the version."""
    name, version = model.__name__, version_of(model)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelVersionError(f"{name}: version must be a positive integer, not {version!r}",
                                {"model": name, "version": version})
    steps = steps_of(model)
    for start, step in steps.items():
        if not isinstance(start, int) or not 1 <= start < version or not callable(step):
            raise ModelVersionError(
                f"{name} version {version}: migrations[{start!r}] must be a function from an "
                f"older version (1 to {version - 1})", {"model": name, "version": start})
    oldest = oldest_version(model)
    if steps and min(steps) < oldest:
        check_path(model, min(steps))  # raises, naming the missing step
    samples = getattr(model, "migration_samples", None) or {}
    for start, bodies in samples.items():
        check_path(model, start)
        for body in bodies:
            _check_sample(model, start, body)


def _check_sample(model: Any, start: int, body: dict) -> None:
    name, steps = model.__name__, steps_of(model)
    current = dict(body)
    for version in range(start, version_of(model)):
        try:
            current = steps[version](dict(current))
        except Exception as exc:
            raise ModelVersionError(
                f"{name}: the migration from version {version} to {version + 1} raised "
                f"{type(exc).__name__}: {exc} on the sample {body!r}",
                {"model": name, "version": version}) from exc
    try:
        model.from_dict(current).validate()
    except ValidationError as exc:
        raise ModelVersionError(
            f"{name} version {version_of(model)}: the sample {body!r} of version {start} "
            f"migrates to a document the model refuses: {exc.message} {exc.details}",
            {"model": name, "version": start}) from exc


def check_models(models: Iterable[Any]) -> None:
    """`check_model` for each: what the server and the page run at start-up."""
    for model in models:
        check_model(model)


__all__ = ["check_model", "check_models", "check_path", "migrate_body", "migrate_document",
           "migrate_documents", "oldest_version", "version_of"]
