"""How the process runs: one serving process, or a pre-fork supervisor and N workers, each with an HTTP server that
drains on SIGTERM. The command line (server.py) calls into it; handlers and services know nothing of it."""
