"""One way to share a settings-scoped service in a process: ``@per_settings("database_url", ...)``.

Services such as the search index, the value service or the recommender are expensive to build and hold
connections, so each process keeps one per distinct value of the settings fields that define it (tests and
workspaces run several shops side by side, each with its own settings)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from domain.settings import Settings

T = TypeVar("T")


class SettingsCache(Generic[T]):
    """``build(settings)`` memoised on ``fields``; built under a lock, so concurrent first calls build once."""

    def __init__(self, build: Callable[[Settings], T], fields: tuple[str, ...]) -> None:
        self._build = build
        self._fields = fields
        self._lock = threading.Lock()
        self._instances: dict[tuple[str, ...], T] = {}
        functools.update_wrapper(self, build)

    def __call__(self, settings: Settings) -> T:
        key = tuple(str(getattr(settings, name)) for name in self._fields)
        with self._lock:
            if key not in self._instances:
                self._instances[key] = self._build(settings)
            return self._instances[key]

    def cache_clear(self) -> None:
        with self._lock:
            self._instances.clear()


def per_settings(*fields: str) -> Callable[[Callable[[Settings], T]], SettingsCache[T]]:
    """Decorate a ``settings -> service`` factory: one service per distinct value of these settings fields."""
    for name in fields:
        if name not in Settings.model_fields and not isinstance(getattr(Settings, name, None), property):
            raise ValueError(f"per_settings: Settings has no field {name!r}")

    def decorate(build: Callable[[Settings], T]) -> SettingsCache[T]:
        return SettingsCache(build, fields)

    return decorate
