"""Roles and what each may see, decided on the server.

national: every page, callback and API answer. province: the analyst page and
the read API, with every metric's filters limited to that province (asking for
another one is refused), and the wall of that province (no carousel). wall: the
wall page and its callbacks only. With auth=open (the embedded demo) everyone is
a national analyst.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flask import g, has_request_context
from werkzeug.exceptions import Forbidden

from queries.periods import Filters

PAGE_ROLES = {"wall": ("national", "wall", "province"), "analyst": ("national", "province")}
API_ROLES = ("national", "province")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str
    province: int | None = None
    demo: bool = False  # auth=open: nobody logged in

    def may_open(self, page: str) -> bool:
        return self.role in PAGE_ROLES[page]

    @property
    def may_read_api(self) -> bool:
        return self.role in API_ROLES


DEMO = Principal("demo", "national", demo=True)


class OutOfScope(Forbidden):
    description = "this account may only see its own province"


def current() -> Principal | None:
    """The principal of this request (set by the gate); None outside a request or when nobody is logged in."""
    return g.get("principal") if has_request_context() else None


def own_provinces() -> tuple[int, ...]:
    """The province a province analyst is limited to, as a default selection (national and others: none)."""
    principal = current()
    return (principal.province,) if principal and principal.role == "province" and principal.province else ()


def scoped(f: Filters, principal: Principal | None) -> Filters:
    """f limited to what the principal may see: a province analyst gets their province when asking for all,
    and OutOfScope when asking for any other."""
    if principal is None:
        raise OutOfScope("no principal")
    if principal.role == "national":
        return f
    if principal.role != "province" or principal.province is None:
        raise OutOfScope()
    if not f.provinces:
        return dataclasses.replace(f, provinces=(principal.province,))
    if set(f.provinces) != {principal.province}:
        raise OutOfScope()
    return f


def wall_scope(config, principal: Principal | None):
    """A wall's options as the principal may see them: a province analyst's wall is their own province's, without
    the carousel (its other steps are other provinces). Anything else passes unchanged."""
    if principal is None or principal.role != "province" or not isinstance(config, dict):
        return config
    return {**config, "province": principal.province, "carousel": 0, "carousel_provinces": []}


def may_watch(principal: Principal | None, province: int | None) -> bool:
    """Whether the principal may be sent the wall view of `province` (None: the national view)."""
    if principal is None or not principal.may_open("wall"):
        return False
    return principal.role != "province" or (principal.province is not None and province == principal.province)


class ScopedMetrics:
    """The metric service as the current request's principal may use it: every Filters argument is passed
    through `scoped` first. Used by the read API and the analyst callbacks (both run in a request)."""

    def __init__(self, metrics):
        self._metrics = metrics

    def message(self, message_id: str):
        """One message by id: only one of the principal's own province (else unknown, as if it did not exist)."""
        found = self._metrics.message(message_id)
        principal = current()
        if found is None or principal is None:
            return None
        if principal.role == "national":
            return found
        return found if principal.role == "province" and _code(found.get("province")) == principal.province else None

    def __getattr__(self, name):
        attr = getattr(self._metrics, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            principal = current()
            args = [scoped(a, principal) if isinstance(a, Filters) else a for a in args]
            kwargs = {k: scoped(v, principal) if isinstance(v, Filters) else v for k, v in kwargs.items()}
            return attr(*args, **kwargs)

        return call


def _code(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
