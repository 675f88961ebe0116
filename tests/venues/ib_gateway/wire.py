"""TWS API framing: 4-byte big-endian length prefix, NUL-terminated text fields.

The handshake is the one exception: the client opens with the bytes ``API\\0`` followed
by a framed ``v<min>..<max>`` version range; the server answers with a framed message of
two fields, its server version and its connection time. Every later message in either
direction is one frame whose fields are separated (and ended) by NUL bytes; the first
field is the message id.
"""

from __future__ import annotations

import asyncio
import math
import struct

#: IB's "unset" sentinels: an unset double / int is sent as an empty field.
UNSET_DOUBLE = 1.7976931348623157e308
UNSET_INTEGER = 2**31 - 1


def field(value) -> str:
    """One value as a TWS field string (bool -> 1/0, None/unset -> empty, inf -> Infinite)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value == UNSET_DOUBLE or math.isnan(value):
            return ""
        if value == math.inf:
            return "Infinite"
        return str(value)
    if isinstance(value, int):
        return "" if value == UNSET_INTEGER else str(value)
    return str(value)


def frame(fields: list) -> bytes:
    """A message of fields as one length-prefixed frame."""
    body = "".join(field(f) + "\0" for f in fields).encode()
    return struct.pack(">I", len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> list[str]:
    """The next frame's fields (the trailing empty field after the last NUL dropped)."""
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    body = (await reader.readexactly(size)).decode(errors="backslashreplace")
    parts = body.split("\0")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


async def read_handshake(reader: asyncio.StreamReader) -> tuple[int, int]:
    """Read ``API\\0`` + framed ``v<min>..<max>[ options]``; return (min, max)."""
    magic = await reader.readexactly(4)
    if magic != b"API\0":
        raise ConnectionError(f"not a TWS API client (first bytes {magic!r})")
    size = struct.unpack(">I", await reader.readexactly(4))[0]
    text = (await reader.readexactly(size)).decode()
    versions = text.split(" ")[0]
    if not versions.startswith("v") or ".." not in versions:
        raise ConnectionError(f"bad version range {text!r}")
    low, high = versions[1:].split("..")
    return int(low), int(high)
