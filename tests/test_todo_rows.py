"""The todo list's rows as HTML text and the page's copy of the todos (web/app/todo_rows.py,
web/app/todo_list.py): pure Python, so they run here on CPython as well as in the page."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "web" / "app"))

from todo_list import TodoList, sort_key  # noqa: E402
from todo_rows import due_text, is_overdue, row_html  # noqa: E402

from models.document import Document  # noqa: E402

TODAY = "2026-12-02"


class Texts(HTMLParser):
    """Tags and texts of an HTML fragment, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)


def parsed(html: str) -> Texts:
    parser = Texts()
    parser.feed(html)
    return parser


def doc(id: str, rev: str = "1-a", deleted: bool = False, **data) -> Document:
    body = None if deleted else {"title": id, "completed": False, "order": 0,
                                 "created_at": "2026-01-01T00:00:00.000Z", **data}
    return Document("todos", id, rev, 0, deleted, body)


def test_due_dates_read_as_a_day_and_the_year_only_when_it_is_another():
    assert due_text("2026-12-04", TODAY) == "due Fri 4 Dec"
    assert due_text("2027-01-15", TODAY) == "due Fri 15 Jan 2027"
    assert due_text(None, TODAY) == ""
    assert due_text("someday", TODAY) == "due someday"


def test_overdue_means_before_today_and_not_done():
    assert is_overdue({"due": "2026-12-01", "completed": False}, TODAY)
    assert not is_overdue({"due": "2026-12-01", "completed": True}, TODAY)
    assert not is_overdue({"due": TODAY, "completed": False}, TODAY)
    assert not is_overdue({"due": None}, TODAY)


def test_a_title_is_text_never_markup():
    title = '<img src=x onerror=alert(1)> & "quotes" </li><li>'
    html = row_html("abc", {"title": title, "completed": True, "due": "2026-11-30"}, TODAY)
    found = parsed(html)
    assert [tag for tag, _ in found.tags] == ["li", "input", "label", "time", "button"]
    assert found.texts[0] == title
    li, toggle = found.tags[0][1], found.tags[1][1]
    assert li["data-id"] == "abc" and li["class"] == "todo completed"
    assert "checked" in toggle
    due = found.tags[3][1]
    assert due["data-testid"] == "todo-due" and due["class"] == "due"  # done: not overdue


def test_a_row_without_a_due_date_has_no_due_element():
    found = parsed(row_html("a", {"title": "x", "completed": False, "due": None}, TODAY))
    assert "time" not in [tag for tag, _ in found.tags]
    assert "checked" not in found.tags[1][1]


def test_the_copy_keeps_the_store_order_and_counts_as_documents_change():
    todos = TodoList()
    todos.reset([doc("b", order=2), doc("a", order=2), doc("c", order=1, completed=True)])
    assert todos.first("all", 10) == ["c", "a", "b"]  # order, then created_at, then id
    assert (todos.left, todos.completed) == (2, 1)
    assert todos.first("active", 1) == ["a"] and todos.first("completed", 10) == ["c"]

    changed = todos.apply([doc("a", "2-b", order=3, completed=True), doc("d", order=0),
                           doc("c", "2-x", deleted=True), doc("zz", "1-z", deleted=True)])
    assert changed == {"a", "c", "d"}  # a tombstone of a todo never seen changes nothing
    assert todos.first("all", 10) == ["d", "b", "a"]
    assert (todos.left, todos.completed, len(todos)) == (2, 1, 3)
    assert todos.apply([doc("d", order=0)]) == set()  # the same revision again
    assert todos.in_order(["a", "gone", "d"]) == ["d", "a"]
    assert todos.shown_count("active") == 2 and todos.shown_count("completed") == 1


def test_sort_key_ranks_like_the_store_null_then_numbers_then_text():
    keys = [sort_key("x", {"order": "text"}), sort_key("x", {"order": 5}),
            sort_key("x", {"order": None})]
    assert sorted(keys) == [keys[2], keys[1], keys[0]]
