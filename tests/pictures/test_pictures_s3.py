"""Profile pictures on S3, over HTTP: moto's S3 server on a local port, reached by aiobotocore like any endpoint."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pymongo.errors import AutoReconnect
from support.api import Api, assert_error
from support.pictures import (
    FORMAT_OF,
    SAMPLES,
    assert_clean_picture,
    bomb_png,
    multipart,
    noisy_png,
    png,
    truncated_png,
)
from support.s3 import MotoServer, bucket_keys, s3_settings

from services.pictures import IMMUTABLE, OBJECT_KEY
from services.wiring import Services


@pytest.fixture
def settings(moto_server: MotoServer, bucket: str) -> dict[str, Any]:
    return s3_settings(moto_server, bucket)


async def upload(api: Api, token: str, data: bytes, as_form: bool = False) -> Any:
    if as_form:
        body, content_type = multipart(data)
        return await api.request("PUT", "/user/avatar", body=body, token=token, headers={"Content-Type": content_type})
    return await api.request("PUT", "/user/avatar", body=data, token=token,
                             headers={"Content-Type": "application/octet-stream"})


async def picture_of(api: Api, token: str) -> str | None:
    response = await api.get("/user", token=token)
    assert response.status == 200, response.body
    return response.json["picture"]


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("as_form", [False, True], ids=["raw", "multipart"])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
async def test_each_format_is_stored_resized_and_clean(api: Api, moto_server: MotoServer, bucket: str, kind: str,
                                                       as_form: bool) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    response = await upload(api, token, SAMPLES[kind]((1600, 1200)), as_form)
    assert response.status == 200, response.body
    assert response.json["code"] == "auth/picture-changed"

    [key] = bucket_keys(moto_server, bucket)
    assert OBJECT_KEY.fullmatch(key)
    stored = moto_server.client().get_object(Bucket=bucket, Key=key)
    image_format, content_type = FORMAT_OF[kind]
    assert (stored["ContentType"], stored["CacheControl"]) == (content_type, IMMUTABLE)
    data = stored["Body"].read()
    assert assert_clean_picture(data, image_format, 512).size == (512, 384)

    # GET /user hands out a presigned URL for that object, and it serves exactly those bytes.
    url = await picture_of(api, token)
    assert url == response.json["picture"]
    assert url.startswith(f"{moto_server.url}/{bucket}/{key}?") and "X-Amz-Signature=" in url
    fetched = await api.fetch_url(url)
    assert (fetched.status, fetched.body) == (200, data)


@pytest.mark.gen_test(timeout=30)
async def test_presigned_urls_are_reused_while_young(api: Api) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    assert await picture_of(api, token) == await picture_of(api, token)


class TestPublicBucket:
    @pytest.fixture
    def settings(self, moto_server: MotoServer, bucket: str) -> dict[str, Any]:
        return {**s3_settings(moto_server, bucket), "s3_public_url": "https://cdn.example.com/pictures/",
                "s3_object_acl": "public-read"}

    @pytest.mark.gen_test(timeout=30)
    async def test_picture_url_is_the_public_base_plus_the_key_and_the_object_is_public(
            self, api: Api, moto_server: MotoServer, bucket: str) -> None:
        token = (await api.signed_up_tokens())["access_token"]
        await upload(api, token, png((64, 64)))
        [key] = bucket_keys(moto_server, bucket)
        assert await picture_of(api, token) == f"https://cdn.example.com/pictures/{key}"
        grants = moto_server.client().get_object_acl(Bucket=bucket, Key=key)["Grants"]
        assert any(grant["Grantee"].get("URI", "").endswith("/global/AllUsers") and grant["Permission"] == "READ"
                   for grant in grants)


@pytest.mark.gen_test(timeout=30)
async def test_replacing_deletes_the_old_object_and_removing_deletes_the_last(api: Api, moto_server: MotoServer,
                                                                               bucket: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    [first] = bucket_keys(moto_server, bucket)
    await upload(api, token, SAMPLES["jpeg"]((64, 64)), as_form=True)
    [second] = bucket_keys(moto_server, bucket)
    assert second != first and second.endswith(".jpg")
    assert second in (await picture_of(api, token) or "")

    removed = await api.request("DELETE", "/user/avatar", token=token)
    assert (removed.status, removed.json["code"]) == (200, "auth/picture-removed")
    assert bucket_keys(moto_server, bucket) == []
    assert await picture_of(api, token) is None
    again = await api.request("DELETE", "/user/avatar", token=token)
    assert again.status == 200  # nothing to remove is not an error


@pytest.mark.gen_test(timeout=30)
async def test_two_uploads_at_once_leave_exactly_the_winner(api: Api, moto_server: MotoServer, bucket: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    answers = await asyncio.gather(*(upload(api, token, png((80 + i, 64))) for i in range(3)))
    assert [answer.status for answer in answers] == [200, 200, 200]
    [key] = bucket_keys(moto_server, bucket)
    assert key in (await picture_of(api, token) or "")


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize(("data", "status", "code"), [
    (b"definitely not an image\n", 415, "auth/unsupported-image"),
    (truncated_png(), 400, "auth/invalid-image"),
    (bomb_png(20_000, 20_000), 400, "auth/image-too-large"),
    (b"", 400, "auth/missing-field"),
], ids=["text-file", "truncated-png", "bomb", "empty"])
async def test_what_is_not_a_usable_image_changes_nothing(api: Api, moto_server: MotoServer, bucket: str,
                                                           data: bytes, status: int, code: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    before = await picture_of(api, token)
    for as_form in (False, True):
        if as_form and not data:
            continue
        assert_error(await upload(api, token, data, as_form), status, code)
    assert len(bucket_keys(moto_server, bucket)) == 1
    assert await picture_of(api, token) == before


@pytest.mark.gen_test(timeout=30)
async def test_a_text_file_named_png_in_a_form_is_refused(api: Api, moto_server: MotoServer, bucket: str) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    body, content_type = multipart(b"#!/bin/sh\nrm -rf /\n", filename="avatar.png", content_type="image/png")
    response = await api.request("PUT", "/user/avatar", body=body, token=token, headers={"Content-Type": content_type})
    assert_error(response, 415, "auth/unsupported-image")
    assert bucket_keys(moto_server, bucket) == []


class TestOversizedBodies:
    @pytest.fixture
    def settings(self, moto_server: MotoServer, bucket: str) -> dict[str, Any]:
        return {**s3_settings(moto_server, bucket), "max_content_length": 64 * 1024}

    @pytest.mark.gen_test(timeout=30)
    async def test_a_body_over_max_content_length_is_413_and_nothing_is_stored(
            self, api: Api, moto_server: MotoServer, bucket: str) -> None:
        token = (await api.signed_up_tokens())["access_token"]
        big = noisy_png()
        assert len(big) > 64 * 1024
        assert_error(await upload(api, token, big), 413, "auth/payload-too-large")
        assert_error(await upload(api, token, big, as_form=True), 413, "auth/payload-too-large")
        assert bucket_keys(moto_server, bucket) == []


# --- failures ------------------------------------------------------------------------------------------


class TestStorageOutage:
    @pytest.fixture
    def outage(self, own_s3: MotoServer) -> str:
        """This test's bucket (moto keeps every server's buckets in one store, so the name must be new)."""
        name = f"outage-{uuid.uuid4().hex[:12]}"
        own_s3.client().create_bucket(Bucket=name)
        return name

    @pytest.fixture
    def settings(self, own_s3: MotoServer, outage: str) -> dict[str, Any]:
        return {**s3_settings(own_s3, outage), "storage_timeout_seconds": 1, "unavailable_retry_after": 9}

    @pytest.mark.gen_test(timeout=60)
    async def test_s3_down_is_503_with_retry_after_and_up_again_just_works(self, api: Api, own_s3: MotoServer,
                                                                           outage: str, services: Services) -> None:
        token = (await api.signed_up_tokens())["access_token"]
        assert (await upload(api, token, png((64, 64)))).status == 200
        before = await picture_of(api, token)
        [old] = bucket_keys(own_s3, outage)

        own_s3.stop()
        for response in (await upload(api, token, png((80, 64))), await api.request("DELETE", "/user/avatar",
                                                                                     token=token)):
            assert_error(response, 503, "auth/unavailable")
            assert response.headers["Retry-After"] == "9"
        # The record is as it was, and GET /user keeps working: presigned URLs are signed here, not by S3.
        assert (await picture_of(api, token) or "").partition("?")[0] == (before or "").partition("?")[0]

        own_s3.start()
        response = await upload(api, token, png((80, 64)))
        assert response.status == 200, response.body
        [new] = bucket_keys(own_s3, outage)
        assert new != old and new in response.json["picture"]
        # The failed upload's key is still journalled; once swept, nothing of the outage is left.
        assert len(await pending(services)) == 1  # the old key was cleared when its replacement deleted it
        await age_journal(services)
        await services.pictures.manager.sweep()
        assert bucket_keys(own_s3, outage) == [new]
        assert await pending(services) == []

    @pytest.mark.gen_test(timeout=60)
    async def test_an_object_that_could_not_be_deleted_is_swept_later(self, api: Api, own_s3: MotoServer,
                                                                       outage: str, services: Services,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
        token = (await api.signed_up_tokens())["access_token"]
        await upload(api, token, png((64, 64)))
        [old] = bucket_keys(own_s3, outage)
        real_delete = services.pictures.storage.delete

        async def store_down_for_deletes(key: str) -> None:
            own_s3.stop()
            try:
                await real_delete(key)
            finally:
                own_s3.start()

        monkeypatch.setattr(services.pictures.storage, "delete", store_down_for_deletes)
        assert (await upload(api, token, png((80, 64)))).status == 200  # the new picture is in place ...
        assert old in bucket_keys(own_s3, outage)  # ... but the old object could not be deleted yet
        monkeypatch.setattr(services.pictures.storage, "delete", real_delete)

        await age_journal(services)
        assert await services.pictures.manager.sweep() == 1
        [kept] = bucket_keys(own_s3, outage)
        assert kept != old and kept in (await picture_of(api, token) or "")
        assert await pending(services) == []


async def age_journal(services: Services) -> None:
    """Pretend the journalled entries are old enough to be swept."""
    await services.pictures.pending._pending.update_many({}, {"$set": {"since": 0}})


async def pending(services: Services) -> list[str]:
    return [doc["_id"] async for doc in services.pictures.pending._pending.find({})]


@pytest.mark.gen_test(timeout=30)
async def test_when_the_record_cannot_be_updated_the_sweeper_deletes_the_new_object(
        api: Api, moto_server: MotoServer, bucket: str, services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 503 from MongoDB does not say whether the record changed (tests/infra/test_landed_writes.py has the write
    that landed): the new object is not deleted at once, under a record that may point at it, but left journalled."""
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    before = bucket_keys(moto_server, bucket)

    async def database_down(*args: Any, **options: Any) -> Any:
        raise AutoReconnect("MongoDB went away")

    monkeypatch.setattr(services.users._users, "find_one_and_update", database_down)
    assert_error(await upload(api, token, png((80, 64))), 503, "auth/unavailable")
    monkeypatch.undo()
    assert before[0] in (await picture_of(api, token) or "")  # the record stayed as it was
    await age_journal(services)
    assert await services.pictures.manager.sweep() == 1  # the new object nobody points at
    assert bucket_keys(moto_server, bucket) == before  # the old one untouched
    assert await pending(services) == []


@pytest.mark.gen_test(timeout=30)
async def test_the_sweeper_deletes_what_a_crash_left_and_keeps_what_is_referenced(
        api: Api, moto_server: MotoServer, bucket: str, services: Services) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    await upload(api, token, png((64, 64)))
    [referenced] = bucket_keys(moto_server, bucket)
    # A crash between the upload and the record update: an object in the bucket, its key in the journal.
    orphan = "avatars/" + "x" * 32 + ".png"
    moto_server.client().put_object(Bucket=bucket, Key=orphan, Body=b"left behind")
    await services.pictures.pending.add(orphan, referenced)
    assert await services.pictures.manager.sweep() == 0  # too young: its upload may still be running
    await age_journal(services)
    assert await services.pictures.manager.sweep() == 1
    assert bucket_keys(moto_server, bucket) == [referenced]
    assert await pending(services) == []
