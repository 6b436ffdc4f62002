"""The todo list on screen: a window of rows over the page's copy (`todo_list.TodoList`), patched
row by row as todos change.

With 10,000 todos the page shows the first `PAGE_ROWS` rows of the filter, plus the todos added
in this tab (so a new todo always appears), and a "Show more" row for the rest. A change touches
only the rows it concerns; a whole window is built as one HTML string (`todo_rows`) set at once.
One listener per kind of event on the list finds the todo by its row's `data-id`, instead of
three proxies per row. A row whose edit box is open is never replaced: what the user types stays,
and the row catches up when the edit ends.
"""

from __future__ import annotations

from collections.abc import Callable

import js
from dom import on
from todo_list import TodoList
from todo_rows import row_html

PAGE_ROWS = 200
GAP = ""  # the place of the "Show more" row in `layout` (no todo has an empty id)


def today() -> str:
    """The user's local date, `YYYY-MM-DD` (Python in Pyodide only knows UTC)."""
    now = js.Date.new()
    return f"{now.getFullYear():04d}-{now.getMonth() + 1:02d}-{now.getDate():02d}"


class ListView:
    def __init__(self, todos: TodoList, listing) -> None:
        self.todos = todos
        self.listing = listing
        self.filter = "all"
        self.limit = PAGE_ROWS
        self.pinned: set[str] = set()  # added in this tab: shown even past the window
        self.layout: list[str] = []  # the ids of the rows on screen, in order, GAP for "more"
        self.hidden = 0  # todos of the filter behind "Show more"
        self.editing: str | None = None  # the row whose edit box is open
        self.stale: set[str] = set()  # rows that changed while they could not be redrawn
        self.waiting = False  # the window must be rebuilt once the edit ends

    # ---- events -------------------------------------------------------------------------------
    def listen(self, *, toggle: Callable[[str], object], delete: Callable[[str], object],
               edit: Callable[[str, object], object]) -> None:
        def row_of(event):
            row = event.target.closest("li[data-id]")
            return (row, str(row.dataset.id)) if row else (None, None)

        def on_change(event) -> None:
            row, id = row_of(event)
            if row and event.target.dataset.testid == "todo-toggle":
                toggle(id)

        def on_click(event) -> None:
            testid = event.target.dataset.testid
            if testid == "more-todos":
                self.show_more()
                return
            row, id = row_of(event)
            if row and testid == "todo-delete":
                delete(id)

        def on_dblclick(event) -> None:
            row, id = row_of(event)
            if row and event.target.dataset.testid == "todo-title":
                edit(id, row)

        on(self.listing, "change", on_change)
        on(self.listing, "click", on_click)
        on(self.listing, "dblclick", on_dblclick)

    # ---- what goes on screen ------------------------------------------------------------------
    def plan(self) -> tuple[list[str], int]:
        """The rows to show, in order (GAP where the hidden ones are), and how many are hidden."""
        head = self.todos.first(self.filter, self.limit)
        in_head = set(head)
        self.pinned &= self.todos.docs.keys()
        extra = self.todos.in_order(id for id in self.pinned if id not in in_head
                                    and self.todos.matches(id, self.filter))
        hidden = self.todos.shown_count(self.filter) - len(head) - len(extra)
        return head + ([GAP] if hidden > 0 else []) + extra, hidden

    def html(self, ids: list[str], day: str) -> str:
        return "".join(self.gap_html() if id == GAP else
                       row_html(id, self.todos.docs[id].data or {}, day) for id in ids)

    def gap_html(self) -> str:
        more = min(PAGE_ROWS, self.hidden)
        return (f'<li class="more" data-testid="more-row"><button class="more-todos" '
                f'data-testid="more-todos">Show {more:,} more</button>'
                f'<span class="more-count" data-testid="more-count">{self.hidden:,} not shown'
                f"</span></li>")

    def render(self) -> None:
        """Rebuild the window in one call (a filter switch, the first load)."""
        if self.editing is not None:
            self.waiting = True
            return
        self.waiting = False
        self.stale.clear()
        layout, self.hidden = self.plan()
        self.listing.innerHTML = self.html(layout, today())
        self.layout = layout

    def show_more(self) -> None:
        self.limit += PAGE_ROWS
        self.patch(set())

    def row(self, id: str):
        return self.listing.querySelector("li.more" if id == GAP else f'li[data-id="{id}"]')

    def patch(self, changed: set[str]) -> None:
        """Bring the screen up to the copy, touching the rows that changed, came or went."""
        if self.waiting:
            self.render()
            return
        layout, self.hidden = self.plan()
        old, new = set(self.layout), set(layout)
        kept = [id for id in self.layout if id in new]
        if kept != [id for id in layout if id in old] or len(changed & old) > PAGE_ROWS // 2:
            self.render()  # moved rows, or most of them changed: one rebuild is cheaper
            return
        day = today()
        for id in self.layout:
            if id not in new and id != self.editing:
                self.row(id).remove()
        redraw = (changed | self.stale) & old & new
        self.stale = set()
        for id in redraw:
            if id == self.editing:
                self.stale.add(id)  # redrawn when the edit ends
            elif id != GAP:
                self.row(id).outerHTML = row_html(id, self.todos.docs[id].data or {}, day)
        if GAP in old and GAP in new:
            self.row(GAP).outerHTML = self.gap_html()
        # new rows, each run of them in one call, before the next row already on screen
        run: list[str] = []
        for id in [*layout, None]:
            if id is not None and id not in old:
                run.append(id)
                continue
            if run:
                text = self.html(run, day)
                if id is None:
                    self.listing.insertAdjacentHTML("beforeend", text)
                else:
                    self.row(id).insertAdjacentHTML("beforebegin", text)
                run = []
        if self.editing is not None and self.editing not in new:
            self.stale.add(self.editing)  # its row stays while the box is open
            layout = [*layout, self.editing]
        self.layout = layout

    # ---- editing ------------------------------------------------------------------------------
    def begin_edit(self, id: str) -> None:
        self.editing = id

    def end_edit(self) -> None:
        """The edit box closed: show what changed meanwhile."""
        id, self.editing = self.editing, None
        if self.waiting or (id is not None and id not in self.todos.docs):
            self.render()
            return
        if id is not None:
            self.stale.add(id)
        self.patch(set())

