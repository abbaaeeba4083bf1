"""The local-folder store (the development default), end to end: stored in UPLOAD_FOLDER, served by the server.

The served path can never leave the folder: only addresses of a key's exact shape are routed at all.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from support.api import Api, assert_error
from support.pictures import assert_clean_picture, jpeg, png, webp

from services.config import Config
from services.outcomes import ServiceUnavailable
from services.pictures.storage import IMMUTABLE, LocalStorage, new_key
from services.wiring import Services


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"app_url": "https://auth.example.com/base/"}


def folder_files(config: Config) -> list[str]:
    root = Path(config.upload_folder)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


async def upload(api: Api, token: str, data: bytes) -> Any:
    return await api.request("PUT", "/user/avatar", body=data, token=token, headers={"Content-Type": "image/png"})


def served_path(url: str) -> str:
    """The picture URL is on APP_URL; the test server answers the same path on its own port."""
    assert url.startswith("https://auth.example.com/base/uploads/avatars/"), url
    return "/" + url.removeprefix("https://auth.example.com/base/")


@pytest.mark.gen_test(timeout=30)
async def test_upload_is_stored_in_the_folder_and_served_with_its_type(api: Api, config: Config) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    response = await upload(api, token, jpeg((1024, 768)))
    assert response.status == 200, response.body
    url = response.json["picture"]
    assert (await api.get("/user", token=token)).json["picture"] == url

    [stored] = folder_files(config)
    assert stored.startswith("avatars/") and stored.endswith(".jpg") and stored in url
    served = await api.get(served_path(url))
    assert served.status == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["Cache-Control"] == IMMUTABLE
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.body == (Path(config.upload_folder) / stored).read_bytes()
    assert assert_clean_picture(served.body, "JPEG", 512).size == (512, 384)
    # The body's checksum is its ETag: a cached copy is confirmed with a 304.
    again = await api.get(served_path(url), headers={"If-None-Match": served.headers["Etag"]})
    assert again.status == 304


@pytest.mark.gen_test(timeout=30)
async def test_replace_and_remove_delete_the_files(api: Api, config: Config) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    first = (await upload(api, token, png((64, 64)))).json["picture"]
    second = (await upload(api, token, webp((64, 64)))).json["picture"]
    [stored] = folder_files(config)
    assert stored.endswith(".webp") and stored in second
    assert_error(await api.get(served_path(first)), 404, "auth/not-found")

    assert (await api.request("DELETE", "/user/avatar", token=token)).status == 200
    assert folder_files(config) == []
    assert_error(await api.get(served_path(second)), 404, "auth/not-found")


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("path", [
    "/uploads/../config.yaml",
    "/uploads/%2e%2e/config.yaml",
    "/uploads/avatars/..%2f..%2fconfig.yaml",
    "/uploads/avatars%2f" + "a" * 32 + ".png",
    "/uploads/avatars/" + "a" * 31 + "/.png",
    "/uploads/avatars/" + "a" * 32 + ".png/../../../secret.png",
    "/uploads/secret.png",
    "/uploads/avatars/" + "a" * 32 + ".txt",
    "/uploads/avatars/../../" + "a" * 26 + ".png",
    "/uploads/",
])
async def test_no_path_leaves_the_folder(api: Api, config: Config, path: str) -> None:
    folder = Path(config.upload_folder)
    (folder / "avatars").mkdir(parents=True)
    (folder / "secret.png").write_bytes(b"not for you")
    (folder.parent / "secret.png").write_bytes(b"not for you either")
    response = await api.get(path)
    assert response.status == 404, (path, response.status)
    assert b"not for you" not in response.body


@pytest.mark.gen_test(timeout=30)
async def test_a_key_that_names_no_file_is_a_json_404(api: Api) -> None:
    assert_error(await api.get(f"/uploads/{new_key('png')}"), 404, "auth/not-found")


@pytest.mark.gen_test
async def test_local_storage_refuses_any_key_it_did_not_make(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads", "http://localhost:8080")
    for key in ("../x.png", "avatars/../../x.png", "/etc/passwd", "avatars/" + "a" * 32 + ".png/..", ""):
        with pytest.raises(ValueError):
            storage.path_of(key)
        assert await storage.read(key) is None
    key = new_key("png")
    await storage.put(key, b"picture", "image/png")
    assert storage.path_of(key).is_relative_to(tmp_path / "uploads")
    assert await storage.read(key) == b"picture"
    assert await storage.url(key) == f"http://localhost:8080/uploads/{key}"
    await storage.delete(key)
    await storage.delete(key)  # idempotent
    assert await storage.read(key) is None


@pytest.mark.gen_test
async def test_an_unwritable_folder_is_503(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    storage = LocalStorage(blocker, "http://localhost:8080/")
    with pytest.raises(ServiceUnavailable):
        await storage.put(new_key("png"), b"picture", "image/png")


def test_keys_are_random_and_well_formed() -> None:
    keys = {new_key("webp") for _ in range(1000)}
    assert len(keys) == 1000
    with pytest.raises(ValueError):
        new_key("../png")


@pytest.mark.gen_test
async def test_the_local_route_is_documented_only_where_it_exists(api: Api, services: Services) -> None:
    assert "/uploads/{key}" in (await api.get("/openapi.json")).json["paths"]
    from handlers.meta import load_openapi

    s3 = Config(storage_backend="s3", s3_bucket="pictures")
    assert "/uploads/{key}" not in load_openapi(s3)["paths"]
    assert urllib.parse.urlsplit(services.config.app_url).path == "/base/"
