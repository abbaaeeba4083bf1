"""What the account checks of issue 12 (items 1, 2, 8) cost, measured in-process, no server: zxcvbn's estimate by
password length, the lookalike key of an address, and a login's password check for NFKC and non-NFKC passwords.

    .venv/bin/python bench/password_checks.py [--cost 12] [--rounds 30]

Prints one line per measurement: the median and the worst of `--rounds` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from timing import measure
from zxcvbn import zxcvbn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.accounts import PasswordHasher, PasswordPolicy
from services.accounts.passwords import ZXCVBN_MAX_LENGTH, own_words, password_strength
from services.users import email_key

WORDS = own_words("omar@quazi.co", "Omar Quazi", "Python JWT Auth")
# The worst seen for zxcvbn: distinct "l33t" characters, each a substitution it tries in every combination.
L33T = "4@8({[<3691!|70$5+%2"
PASSWORDS = {
    "12 characters": "Twelve chars",
    "24 characters (the seed's)": "Myverystrongpassword123@",
    "72 characters of words": "Seven quiet otters juggle marmalade under a violet umbrella near Oslo, 7",
    "72 random characters": "k8#Qz!vR2m$Lp9@wX4&nT7^bY1*cF6(hJ3)dG5_sA0+eU2=iO8-yW7~qE4;rT6:uI9<oP1",
    "72 l33t characters": (L33T * 4)[:72],
    "1024 characters": "correct horse battery staple " * 35,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", type=int, default=12, help="BCRYPT_COST for the login checks (12, the default)")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    for label, password in PASSWORDS.items():
        measure(f"zxcvbn, {label} (it reads {ZXCVBN_MAX_LENGTH})", lambda p=password: password_strength(p, WORDS),
                args.rounds)
    measure("zxcvbn itself, 72 l33t characters", lambda: zxcvbn(PASSWORDS["72 l33t characters"]), 3)
    measure("email_key (NFKC, casefold, UTS #39 skeleton)", lambda: email_key("omar.quazi+news@quazi.co"),
            args.rounds * 100)
    policy = PasswordPolicy(12, 1024, min_score=3, service_words=("Python JWT Auth",))
    measure("PasswordPolicy.check, the seed's password", lambda: asyncio.run(
        policy.check("Myverystrongpassword123@", "omar@quazi.co", "Omar Quazi")), args.rounds)

    hasher = PasswordHasher(cost=args.cost)
    nfkc, typed = "Sécurité first 2024", "Se\u0301curite\u0301 first \uff12\uff10\uff12\uff14"
    stored = asyncio.run(hasher.hash(nfkc))
    rounds = max(3, args.rounds // 5)
    measure(f"login check, an NFKC password (bcrypt cost {args.cost})",
            lambda: asyncio.run(hasher.match(nfkc, stored)), rounds)
    measure(f"login check, a non-NFKC password (bcrypt cost {args.cost})",
            lambda: asyncio.run(hasher.match(typed, stored)), rounds)


if __name__ == "__main__":
    main()
