"""A MongoDB that answers the driver's handshake and then fails every command in one chosen way, on loopback.

No MongoDB server can be installed here, but the real driver's behaviour when a server misbehaves is what users
meet: this speaks just enough of the wire protocol (the OP_QUERY handshake, then OP_MSG) for PyMongo's
`AsyncMongoClient` to select it as a standalone primary. Then:
- `stall`: every command is read and never answered, as a server that hangs mid-operation;
- `max-time`: every command fails with MaxTimeMSExpired (code 50), as when timeoutMS ran out on the server.
"""

from __future__ import annotations

import datetime
import socketserver
import struct
import threading
from typing import Any, ClassVar, Literal

import bson

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
HANDSHAKES = {"hello", "ismaster", "isMaster"}
Mode = Literal["stall", "max-time"]


def _hello() -> dict[str, Any]:
    return {"ok": 1.0, "isWritablePrimary": True, "ismaster": True, "helloOk": True, "maxWireVersion": 21,
            "minWireVersion": 0, "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000, "logicalSessionTimeoutMinutes": 30, "connectionId": 1,
            "localTime": datetime.datetime.now(tz=datetime.UTC)}


MAX_TIME_EXPIRED = {"ok": 0.0, "errmsg": "operation exceeded time limit", "code": 50, "codeName": "MaxTimeMSExpired"}


class _Connection(socketserver.BaseRequestHandler):
    mode: ClassVar[Mode] = "stall"

    def handle(self) -> None:
        try:
            while header := self._read(16):
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                body = self._read(length - 16)
                command = _command(opcode, body)
                name = next(iter(command), "")
                if name in HANDSHAKES or name == "endSessions":
                    self._reply(opcode, request_id, _hello() if name in HANDSHAKES else {"ok": 1.0})
                elif self.mode == "max-time":
                    self._reply(opcode, request_id, MAX_TIME_EXPIRED)
                # stall: read on, answer nothing
        except OSError:
            return

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                return b""
            data += chunk
        return data

    def _reply(self, opcode: int, request_id: int, document: dict[str, Any]) -> None:
        encoded = bson.encode(document)
        if opcode == OP_QUERY:  # the handshake's legacy reply: flags, cursor id, starting from, count
            payload, reply_opcode = struct.pack("<iqii", 0, 0, 0, 1) + encoded, OP_REPLY
        else:
            payload, reply_opcode = struct.pack("<I", 0) + b"\x00" + encoded, OP_MSG
        self.request.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, reply_opcode) + payload)


def _command(opcode: int, body: bytes) -> dict[str, Any]:
    if opcode == OP_QUERY:  # flags, full collection name (C string), skip, return, then the query document
        start = body.index(b"\x00", 4) + 1 + 8
        return bson.decode(body[start:start + struct.unpack("<i", body[start:start + 4])[0]])
    if opcode == OP_MSG and body[4] == 0:  # flag bits, then a kind-0 section: the command document
        return bson.decode(body[5:5 + struct.unpack("<i", body[5:9])[0]])
    return {}


class FakeMongo:
    def __init__(self, mode: Mode) -> None:
        handler = type("Connection", (_Connection,), {"mode": mode})
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/fake?directConnection=true"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
