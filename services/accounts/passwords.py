"""Password hashing and policy.

Passwords are NFKC-normalised before anything else looks at them (NIST SP 800-63B §5.1.1.2), so the same
password typed on two keyboards (a precomposed `é` or `e` + U+0301, a fullwidth digit) is the same password.
Hashes made before that rule may be of a non-NFKC form: a login checks the NFKC form first, then the raw one,
and a match of the raw one is rehashed in NFKC (`PasswordMatch.LEGACY`).

bcrypt only looks at the first 72 bytes of its input, and the bcrypt package refuses longer ones. We
never truncate: the password is first reduced with HMAC-SHA256 keyed by the bcrypt salt (the scheme
passlib calls bcrypt_sha256 v2), so every byte counts and the input to bcrypt is always 44 bytes.
Hashing costs tens to hundreds of milliseconds of CPU; it runs in an executor, never on the event loop.
So does zxcvbn's estimate, on a thread of its own (runtime/serving.py), so no flood of crafted passwords takes
the bcrypt threads that logins need. Its work grows with the length and explodes with the number of distinct
"l33t" characters (bench/README.md: 3.9 s for 72 of them), so it reads the first 32 characters and tries the
substitutions of 4 letters at most: 38 ms for the worst of 80 crafted passwords. zxcvbn() also writes the
user's words into a dictionary it shares between calls; the estimate here builds its own, so two users'
words never mix.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import unicodedata
from concurrent.futures import Executor
from enum import Enum

import bcrypt

from services.accounts.imported_hashes import verify_imported
from services.breach import BreachCheck, NoBreachCheck
from services.outcomes import WEAK_PASSWORD, AuthError

_PREFIX = "$bcrypt-sha256$v=2,"
_WORDS = re.compile(r"[^\W_]+")
ZXCVBN_MAX_LENGTH = 32  # zxcvbn's own limit is 72: 3.9 s for a crafted password (bench/password_checks.py)
L33T_MAX_LETTERS = 4


def normalize_password(password: str) -> str:
    """NFKC, as NIST SP 800-63B §5.1.1.2 asks before hashing: what is stored, checked and measured."""
    return unicodedata.normalize("NFKC", password)


def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of real breaches, as zxcvbn ships them (NIST 800-63B §5.1.1.2)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def own_words(*context: str) -> list[str]:
    """The words a guesser knows about this user and this service: each value, its local part, its words, and
    its words run together (`Omar Quazi` gives `omar`, `quazi` and `omarquazi`; `Python JWT Auth` gives
    `pythonjwtauth` too)."""
    words: list[str] = []
    for value in context:
        parts = _WORDS.findall(value.lower())
        words += [value.lower(), value.split("@")[0].lower(), *parts, "".join(parts)]
    return [word for word in dict.fromkeys(words) if word]


class PasswordPolicy:
    """Length, a blocklist, zxcvbn's strength estimate and, with `PASSWORD_BREACH_CHECK`, the passwords known from
    breaches (services/breach); no composition rules: what NIST SP 800-63B §5.1.1.2 and OWASP ASVS 2.1 ask for.
    `service_words` (APP_NAME) count as known words for every user."""

    def __init__(self, min_length: int, max_length: int, blocklist: frozenset[str] = frozenset(), min_score: int = 0,
                 service_words: tuple[str, ...] = (), executor: Executor | None = None,
                 breaches: BreachCheck | None = None) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self._blocklist = blocklist
        self._min_score = min_score
        self._service_words = service_words
        self._executor = executor
        self._breaches = breaches or NoBreachCheck()

    async def check(self, password: str, *context: str) -> None:
        """`context` holds the user's own words (email, name): a password equal to one of them, or one they make
        easy to guess, is refused. Lengths count the NFKC form, which is what gets hashed."""
        password = normalize_password(password)
        # Most telling first: "one of the most common passwords" says more than "too short" about `password1`.
        if len(password) > self.max_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at most {self.max_length} characters long.")
        if not password.strip():
            raise AuthError(WEAK_PASSWORD, "The password must not be only spaces.")
        folded = password.strip().lower()
        if folded in self._blocklist:
            raise AuthError(WEAK_PASSWORD, "This password is one of the most common passwords; choose another.")
        if folded in {word.strip().lower() for value in context for word in (value, value.split("@")[0]) if word}:
            raise AuthError(WEAK_PASSWORD, "The password must not be your email address or name.")
        if len(password) < self.min_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at least {self.min_length} characters long.")
        if self._min_score:
            words = own_words(*context, *self._service_words)
            score, warning = await asyncio.get_running_loop().run_in_executor(self._executor, password_strength,
                                                                              password, words)
            if score < self._min_score:
                hint = f" {warning}" if warning else ""
                raise AuthError(WEAK_PASSWORD, f"This password is too easy to guess.{hint} Use a few unrelated "
                                               "words, or a longer password.")
        # Last: only a password that passed every local rule costs a call to the breach service.
        await self._breaches.check(password)


def password_strength(password: str, words: list[str]) -> tuple[int, str]:
    """zxcvbn's score, 0 to 4, and its warning, for the first ZXCVBN_MAX_LENGTH characters (what follows only adds
    strength). The steps of `zxcvbn.zxcvbn()`, with a dictionary of the user's words of this call's own."""
    from zxcvbn import feedback, matching, scoring, time_estimates

    head = password[:ZXCVBN_MAX_LENGTH]
    dictionaries = {**matching.RANKED_DICTIONARIES, "user_inputs": matching.build_ranked_dict(words)}
    found = [match for matcher in (matching.dictionary_match, matching.reverse_dictionary_match,
                                   matching.spatial_match, matching.repeat_match, matching.sequence_match,
                                   matching.regex_match, matching.date_match)
             for match in matcher(head, _ranked_dictionaries=dictionaries)]
    # zxcvbn tries every combination of the substitutions the password's "l33t" characters allow (`1` for i or l,
    # `(` `{` `[` `<` for c, ...): hundreds of passes over the dictionaries for a password that has them all
    # (1.2 s for 32 characters). Those of the first L33T_MAX_LETTERS letters are tried: p@ssw0rd still is.
    relevant = matching.relevant_l33t_subtable(head, matching.L33T_TABLE)
    table = dict(list(relevant.items())[:L33T_MAX_LETTERS])
    found += matching.l33t_match(head, _ranked_dictionaries=dictionaries, _l33t_table=table)
    found.sort(key=lambda match: (match["i"], match["j"]))
    result = scoring.most_guessable_match_sequence(head, found)
    score = time_estimates.guesses_to_score(result["guesses"])
    return score, feedback.get_feedback(score, result["sequence"])["warning"]


class PasswordMatch(Enum):
    NO = "no"
    YES = "yes"
    LEGACY = "legacy"  # the stored hash is of the raw, non-NFKC form: rehash it


class PasswordHasher:
    def __init__(self, cost: int, executor: Executor | None = None) -> None:
        self._cost = cost
        self._executor = executor
        # Unknown emails are checked against this, so a miss costs what a wrong password costs.
        self._dummy_hash = self._hash_sync("not a real password")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._hash_sync,
                                                                normalize_password(password))

    async def verify(self, password: str, stored: str | None) -> bool:
        return await self.match(password, stored) is not PasswordMatch.NO

    async def match(self, password: str, stored: str | None) -> PasswordMatch:
        """Constant work whether or not an account exists: a missing or empty hash checks the dummy one.

        The NFKC form first; a password that NFKC changes is checked as typed too (a hash of an earlier
        version), whatever the first check said, so the work depends on the password alone, never on the account.
        """
        target = stored or self._dummy_hash
        normalized = normalize_password(password)
        candidates = [normalized] if normalized == password else [normalized, password]
        loop = asyncio.get_running_loop()
        results = [await loop.run_in_executor(self._executor, self._verify_sync, candidate, target)
                   for candidate in candidates]
        # An empty hash is an account without a password (social sign-in): no password opens it, not even the
        # dummy one's, and it costs what a wrong password costs.
        if not stored or not any(results):
            return PasswordMatch.NO
        # An imported hash (services/accounts/imported_hashes.py) is replaced by ours at its first match.
        return PasswordMatch.YES if results[0] and stored.startswith(_PREFIX) else PasswordMatch.LEGACY

    def _hash_sync(self, password: str) -> str:
        salt = bcrypt.gensalt(self._cost)
        digest = bcrypt.hashpw(_prehash(password, salt), salt)
        return _PREFIX + digest.decode()

    @staticmethod
    def _verify_sync(password: str, stored: str) -> bool:
        if not stored.startswith(_PREFIX):
            return verify_imported(password, stored)
        digest = stored[len(_PREFIX):].encode()
        salt = digest[:29]
        try:
            return bcrypt.checkpw(_prehash(password, salt), digest)
        except ValueError:
            return False


def _prehash(password: str, salt: bytes) -> bytes:
    mac = hmac.new(salt, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac)
