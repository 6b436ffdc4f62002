"""What every write meant, and the check that each one ended everywhere exactly once.

Clients tell the oracle each write as they make it locally (or send it through REST). A todo has
one writer, so its last write per field is the truth: the oracle keeps, per todo, the owner, the
last title, the last `completed` and whether it was deleted. Every title is `<id>#<n>`, unique,
so a todo that exists twice shows up by its title even under another id.

`check` compares what the server holds for each user, and what each device of that user holds,
with it and counts:
- lost: a create, title, toggle or delete whose effect is missing;
- duplicated: a todo present twice (two todos with the same title marker), or one nobody created;
- leaked: a todo of one user seen by another (on the server or on a device);
- diverged: a device whose live todos (ids, revisions, bodies) are not the server's;
- false conflicts: any conflict at all, since no two writers ever touched the same field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Intent:
    user: str
    writer: str
    title: str
    completed: bool = False
    deleted: bool = False
    edits: int = 0


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    diverged: list[str] = field(default_factory=list)
    false_conflicts: list[str] = field(default_factory=list)

    def figures(self) -> str:
        return (f"lost {len(self.lost)}, duplicated {len(self.duplicated)}, leaked "
                f"{len(self.leaked)}, diverged {len(self.diverged)}, false conflicts "
                f"{len(self.false_conflicts)}")

    def problems(self) -> list[str]:
        return (self.lost + self.duplicated + self.leaked + self.diverged
                + self.false_conflicts)


def marker(title: str) -> str:
    return title.split("#", 1)[0]


class Oracle:
    def __init__(self) -> None:
        self.intents: dict[str, Intent] = {}
        self.writes = 0

    def created(self, user: str, id: str, writer: str) -> str:
        """The title of a new todo (whose id the client made)."""
        self.writes += 1
        self.intents[id] = Intent(user, writer, f"{id}#0")
        return self.intents[id].title

    def retitled(self, id: str) -> str:
        self.writes += 1
        intent = self.intents[id]
        intent.edits += 1
        intent.title = f"{id}#{intent.edits}"
        return intent.title

    def toggled(self, id: str, completed: bool) -> bool:
        self.writes += 1
        self.intents[id].completed = completed
        return completed

    def deleted(self, id: str) -> None:
        self.writes += 1
        self.intents[id].deleted = True

    # ---- the check ------------------------------------------------------------------------------
    def _compare(self, where: str, user: str, todos: dict[str, dict], found: Findings) -> None:
        for id, intent in self.intents.items():
            if intent.user != user:
                continue
            todo = todos.get(id)
            if intent.deleted:
                if todo is not None:
                    found.lost.append(f"{where}: the delete of {id} by {intent.writer} is lost")
            elif todo is None:
                found.lost.append(f"{where}: {id} ({intent.writer}) is missing")
            else:
                if todo.get("title") != intent.title:
                    found.lost.append(f"{where}: {id} has title {todo.get('title')!r}, the last "
                                      f"write said {intent.title!r}")
                if todo.get("completed") != intent.completed:
                    found.lost.append(f"{where}: {id} has completed={todo.get('completed')}, "
                                      f"the last write said {intent.completed}")
        for id, todo in todos.items():
            intent = self.intents.get(id)
            if (intent is not None and intent.user != user) or todo.get("owner") != user:
                found.leaked.append(f"{where}: {id} of {todo.get('owner')} is visible to {user}")
            elif intent is None:
                found.duplicated.append(f"{where}: {id} ({todo.get('title')!r}) was never made")
        for name, count in Counter(marker(str(t.get("title"))) for t in todos.values()).items():
            if count > 1:
                found.duplicated.append(f"{where}: {count} todos carry the title of {name}")

    def check(self, server: dict[str, dict[str, dict]],
              devices: list[tuple[str, str, dict[str, tuple[str, dict]]]],
              conflicts: list[str]) -> Findings:
        """`server`: user -> {id: REST body (with `_rev`)}; `devices`: (name, user, {id: (rev,
        data)}) of live todos; `conflicts`: every conflict any sync reported or any store holds."""
        found = Findings(false_conflicts=list(conflicts))
        for user, todos in server.items():
            self._compare(f"server ({user[:6]})", user, todos, found)
        for name, user, docs in devices:
            self._compare(name, user, {id: data for id, (_, data) in docs.items()}, found)
            expected = {id: (body["_rev"], {k: v for k, v in body.items() if k != "_rev"})
                        for id, body in server.get(user, {}).items()}
            if docs != expected:
                differ = sorted(id for id in set(docs) | set(expected)
                                if docs.get(id) != expected.get(id))
                found.diverged.append(f"{name}: differs from the server on {differ[:10]}")
        return found
