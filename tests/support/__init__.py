"""What the tests share besides fixtures (those stay in tests/conftest.py): the HTTP client and its assertions,
real servers on loopback (SMTP, S3, identity providers, a Redis Cluster), server processes, sample pictures."""
