"""The local user store: a small JSON file of users, their role and hashed secret.

Passwords are hashed with Werkzeug's scrypt (salted, slow); wall kiosk keys are
random 32-byte tokens, stored as SHA-256 (a random token needs no slow hash).
Single sign-on users are listed without a secret: the identity provider proves
who they are, this file says what they may see. The file is re-read when it
changes, so `python app.py user remove NAME` takes effect on a running server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from queries import provinces as province_ref

ROLES = ("national", "province", "wall")
MIN_PASSWORD = 10
# checked against when the user is unknown, so that the answer takes as long as for a known one
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


class UserError(ValueError):
    """A user that cannot be added (the message names the problem)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    province: int | None = None
    password: str | None = None  # Werkzeug hash (local login)
    key_sha256: str | None = None  # wall kiosk key
    sso: bool = False  # may sign in through the identity provider

    @property
    def kind(self) -> str:
        return "wall key" if self.key_sha256 else ("sso" if self.sso and not self.password else "password")


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class UserStore:
    """Users in one JSON file (mode 0600), written atomically."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, User] = {}

    # -- reading ------------------------------------------------------------------------------------------------
    def _load(self) -> dict[str, User]:
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                self._stamp, self._users = None, {}
                return self._users
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._users = {name: User(name=name, **fields) for name, fields in raw.get("users", {}).items()}
                self._stamp = stamp
            return self._users

    def users(self) -> list[User]:
        return sorted(self._load().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        return self._load().get(name)

    def check_password(self, name: str, password: str) -> User | None:
        user = self.get(name)
        stored = user.password if user and user.password else _DUMMY_HASH
        ok = check_password_hash(stored, password)
        return user if ok and user is not None and user.password else None

    def by_key(self, key: str) -> User | None:
        digest = _key_digest(key)
        found = None
        for user in self._load().values():  # every entry compared, in constant time each
            if user.key_sha256 and hmac.compare_digest(user.key_sha256, digest):
                found = user
        return found

    # -- writing (the CLI) --------------------------------------------------------------------------------------
    def add(
        self,
        name: str,
        role: str,
        province: str | None = None,
        password: str | None = None,
        sso: bool = False,
        replace: bool = False,
    ) -> str | None:
        """Add a user; returns the new wall key (shown once) for role wall, else None."""
        name = name.strip()
        if not name or len(name) > 200 or any(c.isspace() for c in name):
            raise UserError("name: 1-200 characters without spaces")
        if role not in ROLES:
            raise UserError(f"role: one of {', '.join(ROLES)}")
        code = None
        if role == "province":
            code = province_ref.resolve(province) if province else None
            if code is None:
                raise UserError("--province: a province (adcode, 河南, 河南省 or Henan) is needed for role province")
        elif province:
            raise UserError("--province is only for role province")
        users = dict(self._load())
        if name in users and not replace:
            raise UserError(f"user {name!r} exists (remove it first, or --replace)")
        key = None
        if role == "wall":
            if password or sso:
                raise UserError("a wall user has a generated key, no password or sign-on")
            key = secrets.token_urlsafe(32)
            user = User(name, role, key_sha256=_key_digest(key))
        else:
            if password is None and not sso:
                raise UserError("a password (or --sso) is needed")
            if password is not None and len(password) < MIN_PASSWORD:
                raise UserError(f"password: at least {MIN_PASSWORD} characters")
            hashed = generate_password_hash(password) if password is not None else None
            user = User(name, role, province=code, password=hashed, sso=sso)
        users[name] = user
        self._write(users)
        return key

    def remove(self, name: str) -> bool:
        users = dict(self._load())
        if users.pop(name, None) is None:
            return False
        self._write(users)
        return True

    def _write(self, users: dict[str, User]) -> None:
        data = {"users": {u.name: {k: v for k, v in asdict(u).items() if k != "name"} for u in users.values()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def secret_key(configured: str, users_file: str | Path) -> str:
    """The session signing key: the setting, else one generated once and kept (0600) next to the user store."""
    if configured:
        return configured
    path = Path(users_file).with_name("secret_key")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    return path.read_text().strip()
