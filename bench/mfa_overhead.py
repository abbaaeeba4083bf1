"""What second factors add to every authenticated request: the user document's factor list parsed by
`User.from_document`, and `MfaEnforcement.admit`. No I/O: the list rides on the user read the request makes anyway.

    .venv/bin/python bench/mfa_overhead.py
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.context import Caller
from services.sessions import MfaEnforcement
from services.tokens import Assurance, Claims
from services.users import User

BASE = {"_id": "5f0c1a7b-0000-4000-8000-000000000000", "email": "omar@quazi.co", "name": "Omar",
        "password_hash": "$2b$12$" + "x" * 53, "email_verified": True, "created_at": 1, "updated_at": 1,
        "token_epoch": 0, "picture": None, "disabled": False, "email_change": None}
WITH_FACTORS = {**BASE, "mfa_factors": [{"id": "a" * 32, "type": "totp", "name": "Phone"},
                                        {"id": "b" * 32, "type": "webauthn", "name": "Laptop"}]}
RUNS = 200_000


def per_call(statement: object) -> float:
    return min(timeit.repeat(statement, number=RUNS, repeat=5)) / RUNS * 1e9  # type: ignore[arg-type]


def main() -> None:
    plain, with_factors = per_call(lambda: User.from_document(BASE)), per_call(lambda: User.from_document(WITH_FACTORS))
    claims = Claims(subject=BASE["_id"], token_type="access_token", fresh=False, epoch=0,  # noqa: S106 (a type)
                    session_id="s" * 32, expires_at=2, issued_at=1, token_id="j",  # noqa: S106 (an id)
                    key_id="k", assurance=Assurance("aal2", ("pwd", "otp")))
    caller = Caller(claims=claims, user=User.from_document(WITH_FACTORS))
    enforcement = MfaEnforcement()
    admit = per_call(lambda: enforcement.admit(caller))
    print(f"User.from_document: {plain:.0f} ns without factors, {with_factors:.0f} ns with two "
          f"(+{with_factors - plain:.0f} ns); MfaEnforcement.admit: {admit:.0f} ns")


if __name__ == "__main__":
    main()
