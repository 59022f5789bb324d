"""What every tool receives: the settings, the store, the index and the caller.

Tools are plain functions ``tool(ctx: ShopContext, ...)``; the LangChain wrappers close over a context, so the
session's principal (and so whose data may be read) is fixed by code, never by the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from domain.privacy.access import Principal, audit, resolve_subject
from domain.settings import Settings
from domain.store.db import get_engine
from valuation.service import get_value_service
from vectorstore.index import get_shop_index

if TYPE_CHECKING:
    from valuation.service import ValueService
    from vectorstore.index import ShopIndex


@dataclass
class ShopContext:
    settings: Settings
    principal: Principal
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(self.settings)
        return self._engine

    @property
    def index(self) -> ShopIndex:
        return get_shop_index(self.settings)

    @property
    def values(self) -> ValueService:
        return get_value_service(self.settings)

    def subject(self, requested_user_id: str | None, action: str, reason: str = "") -> str:
        """Resolve whose data this call reads (raises AccessDenied) and audit staff access."""
        user_id = resolve_subject(self.principal, requested_user_id)
        audit(self.engine, self.principal, user_id, action, reason)
        return user_id
