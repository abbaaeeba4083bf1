"""S3 for the tests: moto's server on a local port, reached over HTTP like any S3 endpoint."""

from __future__ import annotations

from typing import Any


class MotoServer:
    """moto's S3 API in a thread of this process; stop() and start() again on the same port keep its buckets."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: Any = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        """A plain boto3 client, to look into the bucket behind the server's back."""
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="test-key",
                            aws_secret_access_key="test-secret")


def s3_settings(server: MotoServer, bucket: str) -> dict[str, Any]:
    return {"storage_backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": server.url,
            "s3_access_key_id": "test-key", "s3_secret_access_key": "test-secret", "storage_timeout_seconds": 2}


def bucket_keys(server: MotoServer, bucket: str) -> list[str]:
    listing = server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))
