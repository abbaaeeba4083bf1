"""Pictures in an S3-compatible bucket (Amazon S3, DigitalOcean Spaces, MinIO ...) through aiobotocore.

Clients get either `S3_PUBLIC_URL` + key (a public bucket or a CDN in front of it) or a presigned GET URL
that lives `S3_URL_LIFETIME`. A presigned URL is reused while at least half its lifetime is left, so
`GET /user` hands out the same URL for a while and browsers can cache the picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from services.config import Config
from services.outcomes import ServiceUnavailable
from services.pictures.storage import IMMUTABLE

log = logging.getLogger("auth.storage")
T = TypeVar("T")
PRESIGNED_CACHE_SIZE = 10_000


class S3Storage:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._bucket = config.s3_bucket
        self._public_url = config.s3_public_url.rstrip("/")
        self._lifetime = config.s3_url_lifetime
        self._stack = contextlib.AsyncExitStack()
        self._client: Any = None
        self._opening = asyncio.Lock()
        self._presigned: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        extra = {"ACL": self._config.s3_object_acl} if self._config.s3_object_acl else {}
        client = await self._open()
        await self._call(client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type,
                                           CacheControl=IMMUTABLE, **extra))

    async def delete(self, key: str) -> None:
        client = await self._open()
        await self._call(client.delete_object(Bucket=self._bucket, Key=key))
        self._presigned.pop(key, None)

    async def url(self, key: str) -> str:
        if self._public_url:
            return f"{self._public_url}/{key}"
        cached = self._presigned.get(key)
        if cached is not None and cached[1] > time.monotonic():
            self._presigned.move_to_end(key)
            return cached[0]
        client = await self._open()
        url: str = await self._call(client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._lifetime))
        self._presigned[key] = (url, time.monotonic() + self._lifetime / 2)
        if len(self._presigned) > PRESIGNED_CACHE_SIZE:
            self._presigned.popitem(last=False)
        return url

    async def close(self) -> None:
        await self._stack.aclose()
        self._client = None

    async def _open(self) -> Any:
        """One client (and connection pool) per process, made on first use: no I/O at start-up."""
        async with self._opening:
            if self._client is None:
                config = self._config
                timeout = config.storage_timeout_seconds
                client_config = AioConfig(connect_timeout=timeout, read_timeout=timeout, signature_version="s3v4",
                                          retries={"max_attempts": 2, "mode": "standard"})
                self._client = await self._stack.enter_async_context(get_session().create_client(
                    "s3", region_name=config.s3_region or None, endpoint_url=config.s3_endpoint_url or None,
                    aws_access_key_id=config.s3_access_key_id or None,
                    aws_secret_access_key=config.s3_secret_access_key or None, config=client_config,
                ))
            return self._client

    async def _call(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except ClientError as exc:  # the store answered, but refused: a bucket or credentials problem
            log.error("S3 bucket %s refused the request: %s", self._bucket, exc)
            raise ServiceUnavailable() from exc
        except (BotoCoreError, OSError) as exc:  # OSError covers timeouts too
            log.warning("S3 storage unreachable: %s", exc)
            raise ServiceUnavailable() from exc
