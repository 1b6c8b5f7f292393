"""The actors this process has resolved, by token, each labelled with its security epoch.

An entry is used only while the epoch the request reads (in the statement that checks the
token) equals the one it was resolved at; a stale one is resolved again. The cache holds no
secret: it is keyed by the token's SHA-256, as the database is.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from oppflow.security.actor import Actor

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedActor:
    epoch: int
    user_id: uuid.UUID
    actor: Actor


class ActorCache:
    """A bounded map from token hash to actor; the oldest entries go first when it is full."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, CachedActor] = {}
        self._lock = threading.Lock()

    def get(self, token_hash: str, epoch: int, user_id: uuid.UUID) -> Actor | None:
        found = self._entries.get(token_hash)
        if found is None or found.epoch != epoch or found.user_id != user_id:
            return None
        return found.actor

    def put(self, token_hash: str, epoch: int, actor: Actor) -> None:
        with self._lock:
            self._entries.pop(token_hash, None)
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[token_hash] = CachedActor(epoch, actor.user_id, actor)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


actors = ActorCache()
