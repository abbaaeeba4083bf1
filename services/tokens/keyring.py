"""The in-memory key ring: parsed keys by kid, the signing key, and hot reload from the keys folder.

Which key signs: `JWT_SIGNING_KID` when it is set; otherwise the newest pair (by file modification
time, then kid) that still has its private half. So dropping a new pair into `keys/` starts signing
with it within `JWT_KEYS_RELOAD_SECONDS`, and retiring a key hands signing to the next newest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Protocol

from jwt.algorithms import get_default_algorithms

from services.infra import PeriodicTask
from services.operations import NO_OBSERVER, Observer
from services.tokens import keyfiles
from services.tokens.keyfiles import KeyFileError, LoadedKey

log = logging.getLogger("auth.keys")


class KeyRingListener(Protocol):
    """Told of the ring's key ids on every reload round, before a change takes effect (the resource servers' copy
    in Redis must never trust a key the ring has dropped). It guards its own failures; the ring goes on regardless."""

    async def keys_loaded(self, kids: frozenset[str], changed: bool) -> None: ...


class KeyRing:
    """Keys parsed once and kept as objects; `reload()` re-reads only the files that changed."""

    def __init__(self, folder: Path, signing_kid: str = "", executor: Executor | None = None,
                 observer: Observer = NO_OBSERVER) -> None:
        self.folder = folder
        self._observer = observer
        self.signing_kid = signing_kid
        self._executor = executor
        self._keys: dict[str, LoadedKey] = {}
        self._fingerprints: dict[str, tuple[int, ...]] = {}
        self._signing: LoadedKey | None = None
        self._reported: set[tuple[str, tuple[int, ...]]] = set()
        self._newly_skipped = 0  # counted in the executor, reported on the event loop
        self._listeners: list[KeyRingListener] = []
        # A failed read keeps the current keys; the next round tries again.
        self._watcher = PeriodicTask("key ring reload", self.reload)

    # --- reading the ring (hot path: plain dict lookups) -------------------------------------------

    def get(self, kid: str) -> LoadedKey | None:
        return self._keys.get(kid)

    @property
    def keys(self) -> Mapping[str, LoadedKey]:
        return self._keys

    @property
    def signing_key(self) -> LoadedKey | None:
        return self._signing

    def public_pems(self) -> dict[str, str]:
        """`GET /settings/keys`: every key that can verify, by kid."""
        return {kid: key.public_pem for kid, key in sorted(self._keys.items())}

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """RFC 7517 key set of the public halves only."""
        keys = []
        for kid, key in sorted(self._keys.items()):
            jwk = get_default_algorithms()[key.alg].to_jwk(key.public_key, as_dict=True)
            keys.append({**{k: v for k, v in jwk.items() if k in _PUBLIC_JWK_MEMBERS},
                         "kid": kid, "alg": key.alg, "use": "sig"})
        return {"keys": keys}

    # --- loading ------------------------------------------------------------------------------------

    async def reload(self) -> bool:
        """Re-read changed key files off the event loop; returns whether the ring changed.

        A file that cannot be used is skipped with one log line (per version of it) and never stops the other
        keys from loading or going; a folder that cannot be listed keeps the current keys until it can."""
        loop = asyncio.get_running_loop()
        try:
            read = await loop.run_in_executor(self._executor, self._read_changes)
        except Exception:
            self._observer.keyring_reloaded("failed")
            raise
        if read is None:
            self._observer.keyring_reloaded("failed")
            return False
        keys, fingerprints = read
        changed = keys.keys() != self._keys.keys() or any(keys[k] is not self._keys[k] for k in keys)
        self._fingerprints = fingerprints
        await self._tell_listeners(frozenset(keys), changed)
        if changed:
            self._keys = keys
            self._signing = self._choose_signing_key(keys)
            log.info("key ring loaded: %d key(s) %s; signing with %s", len(keys), sorted(keys),
                     self._signing.kid if self._signing else "none")
        self._observer.keyring_reloaded("changed" if changed else "unchanged")
        if self._newly_skipped:
            self._observer.key_files_skipped(self._newly_skipped)
            self._newly_skipped = 0
        return changed

    def _read_changes(self) -> tuple[dict[str, LoadedKey], dict[str, tuple[int, ...]]] | None:
        try:
            fingerprints = keyfiles.scan(self.folder)
        except OSError as exc:
            self._report("folder", (), f"cannot read the keys folder {self.folder}: {exc.strerror or exc}; "
                         "keeping the keys loaded so far")
            return None
        self._reported = {entry for entry in self._reported if entry[0] != "folder"}  # readable again
        keys: dict[str, LoadedKey] = {}
        for kid, fingerprint in fingerprints.items():
            previous = self._keys.get(kid)
            if previous is not None and self._fingerprints.get(kid) == fingerprint:
                keys[kid] = previous
                continue
            try:
                keys[kid] = keyfiles.load(self.folder, kid)
            except Exception as exc:  # KeyFileError, or a surprise of the crypto library: one file, never the ring
                problem = str(exc) if isinstance(exc, KeyFileError) else f"{type(exc).__name__}: {exc}"
                if self._report(kid, fingerprint, f"skipping key {kid}: {problem}"):
                    self._newly_skipped += 1
                if previous is not None:
                    # A pair being rewritten in place reads as garbage for a moment: keep the last good copy.
                    keys[kid] = previous
        return keys, fingerprints

    def _report(self, what: str, version: tuple[int, ...], message: str) -> bool:
        """Log a problem once per version of what has it (not once per round); True the first time."""
        if (what, version) in self._reported:
            return False
        self._reported.add((what, version))
        log.warning("%s", message)
        return True

    def _choose_signing_key(self, keys: Mapping[str, LoadedKey]) -> LoadedKey | None:
        if self.signing_kid:
            chosen = keys.get(self.signing_kid)
            if chosen is None or not chosen.can_sign:
                log.error("JWT_SIGNING_KID %s has no usable private key in %s", self.signing_kid, self.folder)
                return None
            return chosen
        candidates = [key for key in keys.values() if key.can_sign]
        return max(candidates, key=lambda key: (key.modified_ns, key.kid), default=None)

    def add_listener(self, listener: KeyRingListener) -> None:
        self._listeners.append(listener)

    async def _tell_listeners(self, kids: frozenset[str], changed: bool) -> None:
        for listener in self._listeners:
            try:
                await listener.keys_loaded(kids, changed)
            except Exception:  # a listener's bug must never stop the ring from dropping a deleted key
                log.exception("key ring listener %s failed", type(listener).__name__)

    # --- background reload --------------------------------------------------------------------------

    def start_watching(self, interval: float) -> None:
        self._watcher.start(interval)

    async def stop_watching(self) -> None:
        await self._watcher.stop()


# RFC 7517/7518 public members; anything else a JWK export might carry stays out.
_PUBLIC_JWK_MEMBERS = {"kty", "n", "e", "crv", "x", "y"}
