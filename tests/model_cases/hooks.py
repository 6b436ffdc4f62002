"""Model hooks (`before_save`, `after_save`, `before_delete`, `after_delete`): order, and a
failing hook aborting the write."""

from __future__ import annotations

from models import Todo, ValidationError

from .helpers import raises
from .registry import case


@case
async def hooks_called_in_order(store):
    events: list[tuple] = []

    class Hooked(Todo):
        def before_save(self, is_new):
            events.append(("before_save", is_new, self._rev))
            super().before_save(is_new)
            self.title = self.title.upper()

        async def after_save(self, is_new):
            stored = await type(self).find_by_id(self.id)
            events.append(("after_save", is_new, self._rev == stored._rev))

        def before_delete(self):
            events.append(("before_delete",))

        async def after_delete(self):
            events.append(("after_delete", await type(self).find_by_id(self.id)))

    H = Hooked.using(store)
    todo = await H.create(title="shout")
    assert todo.title == "SHOUT", "before_save may change fields before validation"
    assert (await H.find_by_id(todo.id)).title == "SHOUT", "the hook's change was not stored"
    await todo.update(completed=True)
    await todo.delete()
    assert events == [
        ("before_save", True, None),
        ("after_save", True, True),
        ("before_save", False, events[2][2]),
        ("after_save", False, True),
        ("before_delete",),
        ("after_delete", None),
    ], f"hooks ran as {events}"
    assert events[2][2] is not None, "before_save on update sees the current revision"


@case
async def hook_failure_aborts_write(store):
    class Refusing(Todo):
        def before_save(self, is_new):
            if self.title == "forbidden":
                raise ValueError("no")
            super().before_save(is_new)

        async def before_delete(self):
            if self.title == "keep":
                raise ValueError("keep me")

    R = Refusing.using(store)
    await raises(ValueError, R.create(title="forbidden"))
    assert await R.count() == 0 and await store.checkpoint() == 0, "a refused save wrote"
    kept = await R.create(title="keep")
    await raises(ValueError, kept.delete())
    assert await R.find_by_id(kept.id) is not None, "a refused delete deleted"


@case
async def after_save_not_called_when_validation_fails(store):
    events: list[str] = []

    class Watched(Todo):
        def after_save(self, is_new):
            events.append("after_save")

    W = Watched.using(store)
    await raises(ValidationError, W.create(title=""))
    assert events == [], f"after_save ran for a rejected save: {events}"
