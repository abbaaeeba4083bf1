"""The per-process copies of users (services/users/cache.py): served only under their version, young enough, and
never more of them than the bound."""

from __future__ import annotations

from services.users import User, UserCache


def user(uid: str) -> User:
    return User(uid=uid, email=f"{uid}@quazi.co", name=uid, password_hash="", email_verified=True, created_at=0,
                updated_at=0, token_epoch=0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_copy_is_served_only_under_the_version_it_was_read_under() -> None:
    cache = UserCache(size=10, max_age=60)
    cache.put("a", "v1", user("a"))
    assert cache.get("a", "v1") == user("a")
    assert cache.get("a", "v2") is None
    assert cache.get("a", None) is None
    assert cache.get("b", "v1") is None


def test_a_copy_is_served_at_most_max_age_seconds() -> None:
    clock = Clock()
    cache = UserCache(size=10, max_age=60, clock=clock)
    cache.put("a", "v1", user("a"))
    clock.now += 59.9
    assert cache.get("a", "v1") is not None
    clock.now += 0.1
    assert cache.get("a", "v1") is None


def test_the_oldest_copy_goes_first_past_the_bound() -> None:
    cache = UserCache(size=2, max_age=60)
    cache.put("a", "v", user("a"))
    cache.put("b", "v", user("b"))
    cache.put("a", "w", user("a"))  # a fresh copy of "a": now the youngest
    cache.put("c", "v", user("c"))
    assert len(cache) == 2
    assert cache.get("b", "v") is None
    assert cache.get("a", "w") is not None and cache.get("c", "v") is not None


def test_size_or_age_zero_keeps_nothing() -> None:
    for cache in (UserCache(size=0, max_age=60), UserCache(size=10, max_age=0)):
        cache.put("a", "v", user("a"))
        assert len(cache) == 0 and cache.get("a", "v") is None
