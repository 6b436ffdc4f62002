"""`models.checkpoints.Checkpoints`: the local store keeps where replication with each peer
reached, as the mark `checkpoint:<peer>:<push|pull>:<model>` (`<prefix>=checkpoint:...` in Web
Storage; browsers that kept it under `offsync:<app>:mark:checkpoint:...` have it moved in), and
`replicate`/`sync` find the direction."""

from __future__ import annotations

import pytest

from models import Checkpoints, MemoryStore, Todo, replicate, sync
from models.stores.webstorage import DictStorage, WebStorageStore


async def test_the_stored_key_is_a_mark_and_the_one_browsers_held_is_moved_in():
    storage = DictStorage()
    local = WebStorageStore(storage, app="todo:u1")
    kept = Checkpoints(local, "server")
    await kept.save("pull", "todos", 41)
    await kept.save("push", "todos", 7)
    every = [storage.key(i) for i in range(storage.length)]
    keys = {key: storage.getItem(key) for key in every if key.startswith(local.prefix + "=")}
    assert keys == {f"{local.prefix}=checkpoint:server:pull:todos": "41",
                    f"{local.prefix}=checkpoint:server:push:todos": "7"}, keys
    assert await kept.load("pull", "todos") == 41 and await kept.load("push", "todos") == 7
    assert await Checkpoints(local, "other").load("pull", "todos") is None
    earlier = DictStorage()  # what a browser kept before the compact layout
    earlier.setItem("offsync:todo:u1:mark:checkpoint:server:pull:todos", "41")
    earlier.setItem("offsync:todo:u1:mark:checkpoint:server:push:todos", "7")
    kept = Checkpoints(WebStorageStore(earlier, app="todo:u1"), "server")
    assert await kept.load("pull", "todos") == 41 and await kept.load("push", "todos") == 7


async def test_reached_is_the_lowest_over_the_models():
    kept = Checkpoints(MemoryStore(), "server")
    assert await kept.reached("pull", ["todos", "items"], default=3) == 3
    await kept.save("pull", "todos", 10)
    assert await kept.reached("pull", ["todos", "items"], default=3) == 3
    await kept.save("pull", "items", 5)
    assert await kept.reached("pull", ["todos", "items"]) == 5
    assert await kept.reached("pull", []) == 0


async def test_the_direction_is_the_local_stores_role():
    local, peer, other = MemoryStore(), MemoryStore(), MemoryStore()
    kept = Checkpoints(local, "peer")
    assert kept.direction(peer, local) == "pull" and kept.direction(local, peer) == "push"
    with pytest.raises(ValueError, match="neither the source nor the target"):
        kept.direction(peer, other)
    with pytest.raises(ValueError, match="'push' or 'pull'"):
        await kept.load("both", "todos")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a name"):
        Checkpoints(local, "")


async def test_replicate_saves_in_the_direction_of_the_store_that_keeps_it():
    source, target = MemoryStore(), MemoryStore()
    for title in ("a", "b", "c"):
        await Todo.using(source).create(title=title)
    pulled = Checkpoints(target, "source")
    result = await replicate(source, target, models=[Todo], checkpoints=pulled)
    assert result.checkpoint == 3 and await pulled.load("pull", "todos") == 3
    assert await pulled.load("push", "todos") is None
    await Todo.using(source).create(title="d")
    again = await replicate(source, target, models=[Todo], checkpoints=pulled)
    assert again.count("applied") == 1, "the next run starts where the saved one reached"

    pushed = Checkpoints(source, "target")
    await replicate(source, target, models=[Todo], checkpoints=pushed)
    assert await pushed.load("push", "todos") == 4 and await pushed.load("pull", "todos") is None
    with pytest.raises(ValueError, match="neither"):
        await replicate(target, MemoryStore(), models=[Todo], checkpoints=pushed)


async def test_sync_keeps_both_directions_under_the_peer_name():
    local, server = MemoryStore(), MemoryStore()
    await Todo.using(local).create(title="mine")
    await Todo.using(server).create(title="theirs")
    result = await sync(local, server, models=[Todo], peer="server")
    kept = Checkpoints(local, "server")
    assert await kept.load("push", "todos") == result.push.checkpoint
    assert await kept.load("pull", "todos") == result.pull.checkpoint == await server.checkpoint()
    assert await local.saved_checkpoint("server:pull:todos") == result.pull.checkpoint
