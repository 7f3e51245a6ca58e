"""Signed checkpoints of the audit chain's head, kept outside the database.

An anchor records (seq, hash, time) and an HMAC of them under a key derived from the
audit key, one JSON file per anchor. Whoever can rewrite the database can delete the
chain's tail or truncate it; they cannot take back an anchor already written, nor forge one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_PREFIX = "anchor-"
_DOMAIN = b"wallet audit anchor v1"


class InvalidAnchor(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Anchor:
    seq: int
    hash: bytes
    at: datetime


def _signature(key: bytes, seq: int, digest: bytes, at: datetime) -> str:
    # A key of its own (derived), so an anchor's signature can never pass for a row hash.
    anchor_key = hmac.new(key, _DOMAIN, hashlib.sha256).digest()
    message = f"{seq}:{digest.hex()}:{at.isoformat()}".encode()
    return hmac.new(anchor_key, message, hashlib.sha256).hexdigest()


def write(directory: Path, key: bytes, anchor: Anchor) -> Path | None:
    """Write `anchor` as a new file; None if one for this seq exists (never overwritten)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = json.dumps(
        {
            "seq": anchor.seq,
            "hash": anchor.hash.hex(),
            "at": anchor.at.isoformat(),
            "signature": _signature(key, anchor.seq, anchor.hash, anchor.at),
        }
    )
    path = directory / f"{_PREFIX}{anchor.seq:020d}.json"
    temporary = directory / f".{path.name}.{os.getpid()}.tmp"
    temporary.write_text(body)
    try:
        # link() fails when the name exists: an anchor is written once, complete, and
        # never replaced by a later one for the same seq (say after a truncated chain
        # grew back to it).
        os.link(temporary, path)
    except FileExistsError:
        return None
    finally:
        temporary.unlink()
    return path


def read(path: Path, key: bytes) -> Anchor:
    """The anchor in `path`; `InvalidAnchor` if it is unreadable or its signature is wrong."""
    try:
        raw = json.loads(path.read_text())
        anchor = Anchor(
            int(raw["seq"]), bytes.fromhex(raw["hash"]), datetime.fromisoformat(raw["at"])
        )
        signature = str(raw["signature"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidAnchor(f"{path.name} is unreadable: {exc}") from None
    if not hmac.compare_digest(signature, _signature(key, anchor.seq, anchor.hash, anchor.at)):
        raise InvalidAnchor(f"{path.name} has an invalid signature")
    return anchor


def files(directory: Path) -> list[Path]:
    """Anchor files, lowest seq first."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{_PREFIX}*.json"))


def read_all(directory: Path, key: bytes) -> list[Anchor]:
    """Every anchor in `directory`, lowest seq first; `InvalidAnchor` on the first bad one."""
    return [read(path, key) for path in files(directory)]


def prune(directory: Path, keep: int) -> int:
    """Delete all but the `keep` anchors with the highest seq; return how many went."""
    old = files(directory)[:-keep] if keep > 0 else []
    for path in old:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return len(old)
