"""User values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    phone: str
    username: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SignUpRequest:
    email: str
    phone: str
    username: str
    password: str
