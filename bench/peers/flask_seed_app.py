"""Peer for bench/compare.py: a Flask + PyJWT app shaped like the seed project's README.

    PEER_DB=/tmp/x.sqlite PEER_PRIVATE_KEY=k.pem PEER_PUBLIC_KEY=k.pub PEER_KID=kid PEER_BCRYPT_COST=12 \
        gunicorn --chdir bench/peers -w 1 -k sync -b 127.0.0.1:P flask_seed_app:app

POST /signup {name, email, password}; POST /login {email, password} -> {tokens: {access_token, refresh_token}};
POST (or GET, as the seed documents) /refresh {token} -> {access_token, exp}; GET /user with
`python-auth: Bearer <access token>`. SQLite through Flask-SQLAlchemy (the seed's stack), RS256 with a `kid`,
bcrypt at the same cost as our server. Key objects are parsed once at start, as a careful app would.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import bcrypt
import jwt
from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import IntegrityError

PRIVATE_KEY = serialization.load_pem_private_key(Path(os.environ["PEER_PRIVATE_KEY"]).read_bytes(), password=None)
PUBLIC_KEY = serialization.load_pem_public_key(Path(os.environ["PEER_PUBLIC_KEY"]).read_bytes())
KID = os.environ.get("PEER_KID", "bench")
COST = int(os.environ.get("PEER_BCRYPT_COST", "12"))
AUDIENCE, ISSUER = "python-jwt-auth", "localhost"

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{os.environ['PEER_DB']}"
app.config["JWT_HEADER_NAME"] = "python-auth"
app.config["JWT_HEADER_TYPE"] = "Bearer"
db = SQLAlchemy(app)


class User(db.Model):  # type: ignore[name-defined,misc]
    uid = db.Column(db.String(36), primary_key=True)
    email = db.Column(db.String(254), unique=True, nullable=False)
    name = db.Column(db.String(100), nullable=False)
    password = db.Column(db.String(100), nullable=False)
    email_verified = db.Column(db.Boolean, default=False)
    created_at = db.Column(db.Integer, nullable=False)
    updated_at = db.Column(db.Integer, nullable=False)


with app.app_context():
    db.create_all()


def error(code: str, status: int) -> Any:
    return jsonify(status="error", code=code, message=code), status


def issue(uid: str, kind: str, lifetime: int) -> tuple[str, int]:
    now = int(time.time())
    claims = {"iat": now, "nbf": now, "exp": now + lifetime, "aud": AUDIENCE, "iss": ISSUER, "sub": uid,
              "jti": str(uuid.uuid4()), "data": {"type": kind}}
    return jwt.encode(claims, PRIVATE_KEY, algorithm="RS256", headers={"kid": KID}), now + lifetime


def claims_of(token: str, kind: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.PyJWTError:
        return None
    return claims if claims.get("data", {}).get("type") == kind else None


@app.post("/signup")
def signup() -> Any:
    body = request.get_json(silent=True) or {}
    email, name, password = body.get("email"), body.get("name"), body.get("password")
    if not (isinstance(email, str) and isinstance(name, str) and isinstance(password, str)):
        return error("auth/missing-field", 400)
    now = int(time.time())
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(COST)).decode()
    db.session.add(User(uid=str(uuid.uuid4()), email=email.lower(), name=name, password=hashed,
                        created_at=now, updated_at=now))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return error("auth/email-in-use", 409)
    return jsonify(code="auth/user-registered", message="Successfully created your account! Login now.",
                   status="success")


@app.post("/login")
def login() -> Any:
    body = request.get_json(silent=True) or {}
    user = db.session.execute(db.select(User).filter_by(email=str(body.get("email", "")).lower())).scalar()
    if user is None or not bcrypt.checkpw(str(body.get("password", "")).encode(), user.password.encode()):
        return error("auth/invalid-credentials", 401)
    access, _ = issue(user.uid, "access_token", 900)
    refresh, _ = issue(user.uid, "refresh_token", 30 * 86400)
    return jsonify(created_at=user.created_at, email=user.email, email_verified=user.email_verified,
                   name=user.name, status="success", tokens={"access_token": access, "refresh_token": refresh},
                   uid=user.uid, updated_at=user.updated_at)


@app.route("/refresh", methods=["GET", "POST"])
def refresh() -> Any:
    body = request.get_json(silent=True) or {}
    claims = claims_of(str(body.get("token", "")), "refresh_token")
    if claims is None or db.session.get(User, claims["sub"]) is None:
        return error("auth/token-invalid", 401)
    access, expires = issue(claims["sub"], "access_token", 900)
    return jsonify(access_token=access, exp=expires, status="success")


@app.get("/user")
def user() -> Any:
    scheme, _, token = request.headers.get(app.config["JWT_HEADER_NAME"], "").partition(" ")
    claims = claims_of(token.strip(), "access_token") if scheme == app.config["JWT_HEADER_TYPE"] else None
    found = db.session.get(User, claims["sub"]) if claims else None
    if found is None:
        return error("auth/token-invalid", 401)
    return jsonify(created_at=str(found.created_at), email=found.email, email_verified=found.email_verified,
                   name=found.name, uid=found.uid, updated_at=str(found.updated_at))
