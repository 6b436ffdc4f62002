"""Access rules (`models.access`) and models bound to a user (`as_user`)."""

from __future__ import annotations

from models import (
    ALL,
    ALLOW,
    AUTHENTICATED,
    DENY,
    EVERYONE,
    OWNER,
    READ,
    REPLICATE,
    WRITE,
    AccessDeniedError,
    AccessRule,
    MemoryStore,
    Todo,
    default_list_id,
)
from models.access import is_allowed

from .helpers import raises, raises_sync
from .registry import case


@case(store_independent=True)
async def access_everyone_authenticated_owner():
    assert is_allowed([AccessRule(EVERYONE, READ)], READ)
    assert is_allowed([AccessRule(EVERYONE, READ)], READ, user_id="u1")
    auth = [AccessRule(AUTHENTICATED, ALL)]
    assert not is_allowed(auth, READ), "anonymous is not $authenticated"
    assert is_allowed(auth, WRITE, user_id="u1")
    own = [AccessRule(OWNER, WRITE)]
    assert is_allowed(own, WRITE, user_id="u1", owner_id="u1")
    assert not is_allowed(own, WRITE, user_id="u2", owner_id="u1"), "not the owner"
    assert not is_allowed(own, WRITE, user_id=None, owner_id=None), "anonymous owns nothing"
    assert not is_allowed(own, READ, user_id="u1", owner_id="u1"), "a WRITE rule is not READ"
    assert is_allowed([AccessRule(EVERYONE, ALL)], REPLICATE), "* matches every access type"


@case(store_independent=True)
async def access_deny_wins():
    rules = [AccessRule(EVERYONE, ALL, ALLOW), AccessRule(AUTHENTICATED, WRITE, DENY)]
    assert is_allowed(rules, WRITE), "anonymous only matches the ALLOW rule"
    assert not is_allowed(rules, WRITE, user_id="u1"), "a matching DENY beats any ALLOW"
    assert is_allowed(rules, READ, user_id="u1"), "the DENY is for WRITE only"
    rules = [AccessRule(OWNER, ALL, ALLOW), AccessRule(EVERYONE, ALL, DENY)]
    assert is_allowed(rules, READ, user_id="u1", owner_id="u1"), "the most specific role decides"
    assert not is_allowed(rules, READ, user_id="u2", owner_id="u1"), "not the owner: $everyone"
    rules = [AccessRule(OWNER, ALL, ALLOW), AccessRule(OWNER, WRITE, DENY)]
    assert not is_allowed(rules, WRITE, user_id="u1", owner_id="u1"), "DENY wins within a role"


@case(store_independent=True)
async def access_no_match_denied():
    assert not is_allowed([], READ), "no rules, no access"
    assert not is_allowed((), WRITE, user_id="u1", owner_id="u1")
    assert not is_allowed([AccessRule(OWNER, READ)], READ, user_id="u1")
    assert not is_allowed([AccessRule("$admin", ALL)], READ, user_id="u1")
    raises_sync(ValueError, AccessRule, EVERYONE, "DESTROY")
    raises_sync(ValueError, AccessRule, EVERYONE, READ, "MAYBE")


@case(store_independent=True)
async def model_access_rules():
    rules = Todo.OWNER_ONLY  # what a todo's access rules are once accounts exist
    assert not is_allowed(rules, READ), "anonymous reads nothing"
    assert not is_allowed(rules, READ, user_id="u2", owner_id="u1"), "nor does another user"
    assert is_allowed(rules, WRITE, user_id="u1", owner_id="u1"), "the owner does everything"
    assert is_allowed(rules, REPLICATE, user_id="u2"), "any logged-in user may sync"
    assert not is_allowed(rules, REPLICATE), "but not anonymously"

    class Private(Todo):
        acl = (AccessRule(OWNER, ALL, ALLOW), AccessRule(AUTHENTICATED, READ, ALLOW))

    assert Private.can(READ, user_id="u2") and not Private.can(READ)
    assert Private.can(WRITE, user_id="u1", owner_id="u1")
    exc = raises_sync(AccessDeniedError, Private.check_access, WRITE, user_id="u2", owner_id="u1")
    assert exc.status == 403 and exc.details == {"access": WRITE}, exc.to_dict()
    Private.check_access(READ, user_id="u2")


class Private(Todo):
    """Todo with the owner-only rules, whatever Todo itself declares today."""

    acl = Todo.OWNER_ONLY


@case
async def as_user_owns_what_it_creates_and_sees_only_that(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    await Bob.create(title="bob's")
    assert mine.owner == "alice", "a new todo belongs to whoever created it"
    assert [t.title for t in await Alice.find()] == ["alice's"]
    assert await Bob.count() == 1 and await Bob.find_by_id(mine.id) is None, \
        "another user's todo does not exist for Bob"
    assert await Bob.find(where={"title": "alice's"}) == []
    assert await Private.using(store).count() == 2, "the trusted, unscoped view sees both"


@case
async def as_user_refuses_writes_to_other_users_todos(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    stolen = Bob.from_dict(mine.to_dict(), rev=mine._rev)
    exc = await raises(AccessDeniedError, stolen.update(title="bob was here"))
    assert exc.message == "WRITE on todos is not allowed", exc.message  # the server's words
    await raises(AccessDeniedError, stolen.delete())
    forged = Bob(title="forged", owner="alice")
    await raises(AccessDeniedError, forged.save())
    assert [t.title for t in await Alice.find()] == ["alice's"], "nothing was written"


@case
async def anonymous_reads_and_writes_nothing(store):
    Nobody = Private.using(store).as_user(None)
    exc = await raises(AccessDeniedError, Nobody.find())
    assert exc.details == {"access": READ}
    await raises(AccessDeniedError, Nobody.count())
    await raises(AccessDeniedError, Nobody.create(title="anonymous"))
    assert await Private.using(store).count() == 0


@case
async def replicated_documents_are_checked_against_the_owner(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    mine = await Alice.create(title="alice's")
    doc = await store.get("todos", mine.id)
    assert Alice.check_replicated(doc, doc) is None
    problem = Bob.check_replicated(doc, doc)
    assert problem and problem["code"] == "ACCESS_DENIED", problem
    theirs = await store.get("todos", (await Bob.create(title="bob's")).id)
    target = MemoryStore()
    outcomes = await target.apply("todos", [doc, theirs], check=Bob.check_replicated)
    assert [o.status for o in outcomes] == ["rejected", "applied"], outcomes
    assert await target.get("todos", mine.id) is None, "a rejected document is not written"


@case
async def per_user_feed_includes_the_users_tombstones_only(store):
    Alice, Bob = Private.using(store).as_user("alice"), Private.using(store).as_user("bob")
    gone = await Alice.create(title="to delete")
    await gone.delete()
    await Bob.create(title="bob's")
    # a todo belongs to its list (here each user's default list), tombstones too
    alice_feed = await store.feed("todos", 0, owner=default_list_id("alice"))
    assert [(d.id, d.deleted) for d in alice_feed] == [(gone.id, True)], alice_feed
    bobs = default_list_id("bob")
    assert all(d.owner == bobs for d in await store.feed("todos", 0, owner=bobs))
