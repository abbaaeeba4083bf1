"""Peer for bench/compare.py: fastapi-users as its docs set it up (JWT strategy, SQLite through SQLAlchemy).

    PEER_DB=/tmp/x.sqlite PEER_PRIVATE_KEY=k.pem PEER_PUBLIC_KEY=k.pub PEER_BCRYPT_COST=12 \
        uvicorn --app-dir bench/peers fastapi_users_app:app --port P --no-access-log

Routes: POST /auth/register (JSON), POST /auth/jwt/login (form: username, password), GET /users/me.
It signs RS256 with the same key pair as our server, and hashes with bcrypt at the same cost (fastapi-users
would pick Argon2 by default), so the comparison prices the frameworks, not the algorithms. fastapi-users'
JWT strategy has no refresh endpoint.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.db import SQLAlchemyBaseUserTableUUID, SQLAlchemyUserDatabase
from fastapi_users.password import PasswordHelper
from pwdlib import PasswordHash
from pwdlib.hashers.bcrypt import BcryptHasher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

PRIVATE_KEY = Path(os.environ["PEER_PRIVATE_KEY"]).read_text()
PUBLIC_KEY = Path(os.environ["PEER_PUBLIC_KEY"]).read_text()
engine = create_async_engine(f"sqlite+aiosqlite:///{os.environ['PEER_DB']}")
sessions = async_sessionmaker(engine, expire_on_commit=False)
password_helper = PasswordHelper(PasswordHash((BcryptHasher(rounds=int(os.environ.get("PEER_BCRYPT_COST", "12"))),)))


class Base(DeclarativeBase):
    pass


class User(SQLAlchemyBaseUserTableUUID, Base):
    pass


class UserRead(schemas.BaseUser[uuid.UUID]):
    pass


class UserCreate(schemas.BaseUserCreate):
    pass


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    reset_password_token_secret = "bench"  # noqa: S105
    verification_token_secret = "bench"  # noqa: S105


async def get_session() -> AsyncGenerator[AsyncSession, None]:
    async with sessions() as session:
        yield session


async def get_user_db(session: Annotated[AsyncSession, Depends(get_session)]) -> AsyncGenerator[Any, None]:
    yield SQLAlchemyUserDatabase(session, User)


async def get_user_manager(user_db: Annotated[Any, Depends(get_user_db)]) -> AsyncGenerator[UserManager, None]:
    yield UserManager(user_db, password_helper)


def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
    return JWTStrategy(secret=PRIVATE_KEY, public_key=PUBLIC_KEY, algorithm="RS256", lifetime_seconds=3600)


backend = AuthenticationBackend(name="jwt", transport=BearerTransport(tokenUrl="auth/jwt/login"),
                                get_strategy=get_jwt_strategy)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [backend])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncGenerator[None, None]:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(backend), prefix="/auth/jwt")
app.include_router(fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth")
app.include_router(fastapi_users.get_users_router(UserRead, schemas.BaseUserUpdate), prefix="/users")
