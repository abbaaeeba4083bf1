"""The command line's commands, one module per command group; server.py holds the parser and the dispatch.

A package of its own beside handlers/ rather than inside runtime/: like the handlers, a command is a way in
(it parses, calls services and presents the result as text and an exit code), while runtime/ is how the
serving process runs. Each `run(config, args)` returns the exit code: 0 done, 1 refused or unreachable, 2 a bad
setting.
"""

from commands import admin_keys, keys, mail, sessions, users, webhooks

__all__ = ["admin_keys", "keys", "mail", "sessions", "users", "webhooks"]
