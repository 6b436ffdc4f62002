"""The todo page: the shared `Todo` model bound to this browser's localStorage, shown in the DOM.

Runs in Pyodide on the page's main thread (localStorage exists only there). Titles are always set
as text, never as HTML.
"""

from __future__ import annotations

import js
from pyodide.ffi import create_proxy

from models import OffsyncError, Todo, WebStorageStore

LocalTodo = Todo.using(WebStorageStore(js.window.localStorage, app="todo"))
document = js.document


def by_testid(testid: str):
    return document.querySelector(f'[data-testid="{testid}"]')


def show_error(message: str) -> None:
    box = by_testid("error-message")
    box.textContent = message
    box.hidden = not message


def todo_item(todo: Todo):
    item = document.createElement("li")
    item.className = "todo" + (" completed" if todo.completed else "")
    item.dataset.testid = "todo-item"
    item.dataset.id = todo.id
    title = document.createElement("span")
    title.className = "title"
    title.dataset.testid = "todo-title"
    title.textContent = todo.title  # text, never HTML
    item.appendChild(title)
    return item


async def render() -> None:
    todos = await LocalTodo.find(order=["order ASC", "created_at ASC"])
    listing = by_testid("todo-list")
    listing.replaceChildren(*[todo_item(todo) for todo in todos])
    left = sum(1 for todo in todos if not todo.completed)
    by_testid("items-left").textContent = f"{left} item{'' if left == 1 else 's'} left"


async def add_todo(title: str) -> bool:
    try:
        await LocalTodo.create(title=title)
    except OffsyncError as exc:
        show_error(exc.message)
        return False
    show_error("")
    await render()
    return True


async def on_new_todo_key(event) -> None:
    if event.key != "Enter":
        return
    field = event.target
    if await add_todo(field.value):
        field.value = ""


_proxies: list = []  # event handlers must outlive this module's frames


async def start() -> None:
    new_todo = by_testid("new-todo")
    _proxies.append(create_proxy(on_new_todo_key))
    new_todo.addEventListener("keydown", _proxies[-1])
    await render()
    new_todo.disabled = False
    new_todo.focus()
    document.body.classList.remove("loading")
    ready = document.createElement("span")
    ready.hidden = True
    ready.dataset.testid = "app-ready"
    document.body.appendChild(ready)
