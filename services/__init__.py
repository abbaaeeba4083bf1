"""The logic of the server, free of `tornado.web`: one package per domain, composed in `wiring/`.

At the top, besides the composition root, only the vocabulary every package shares: `outcomes.py` (every code
the API answers with) and `context.py` (the caller, the client and the token pair of a request).
"""
