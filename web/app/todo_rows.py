"""The todo list's rows as HTML text, so a whole batch of rows reaches the page in one call
(`innerHTML`) instead of a dozen Pyodide→DOM calls per row. Every text a user wrote is escaped
here, and only here. Pure Python: no `js`, so it is tested on CPython too."""

from __future__ import annotations

import datetime as _dt
from html import escape


def due_text(due: str | None, today: str) -> str:
    """"due Fri 4 Dec" (with the year when it is not this year's), "" without a due date."""
    if not due:
        return ""
    try:
        day = _dt.date.fromisoformat(due)
        this_year = _dt.date.fromisoformat(today).year
    except ValueError:
        return f"due {due}"  # the model validates; an odd stored value is shown as it is
    text = f"due {day:%a} {day.day} {day:%b}"
    return text if day.year == this_year else f"{text} {day.year}"


def is_overdue(data: dict, today: str) -> bool:
    """Due before today (ISO dates compare as text) and not done yet."""
    due = data.get("due")
    return bool(due) and not data.get("completed") and str(due) < today


def row_html(id: str, data: dict, today: str) -> str:
    """One `<li>` of the list, with the `data-testid` hooks the tests and the page use."""
    completed = bool(data.get("completed"))
    cls = "todo completed" if completed else "todo"
    due = data.get("due")
    due_part = ""
    if due:
        due_cls = "due overdue" if is_overdue(data, today) else "due"
        due_part = (f'<time class="{due_cls}" data-testid="todo-due" datetime="{escape(str(due))}">'
                    f"{escape(due_text(str(due), today))}</time>")
    return (
        f'<li data-testid="todo-item" class="{cls}" data-id="{escape(id)}">'
        f'<input data-testid="todo-toggle" class="toggle" type="checkbox" aria-label="Done"'
        f'{" checked" if completed else ""}>'
        f'<label data-testid="todo-title" class="title">{escape(str(data.get("title") or ""))}'
        f"</label>{due_part}"
        f'<button data-testid="todo-delete" class="destroy" aria-label="Delete" title="Delete">'
        f"×</button></li>"
    )


def rows_html(rows: list[tuple[str, dict]], today: str) -> str:
    return "".join(row_html(id, data, today) for id, data in rows)
