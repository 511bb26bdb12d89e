"""Role names (glossary) and the Actor: who is acting, as every engine operation sees them."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.catalog.document import BINDABLE_ROLES

STAFF = "staff"
LEGAL_OFFICE = "legal_office"  # 法制办 / 司法局
ESTABLISHMENT_OFFICE = "establishment_office"  # 编办
EFFICIENCY_OFFICE = "efficiency_office"  # 效能办
ADMIN = "admin"

ROLES: dict[str, str] = {
    STAFF: "工作人员",
    LEGAL_OFFICE: "法制办",
    ESTABLISHMENT_OFFICE: "编办",
    EFFICIENCY_OFFICE: "效能办",
    ADMIN: "系统管理员",
}
COORDINATOR_ROLES = (ESTABLISHMENT_OFFICE, EFFICIENCY_OFFICE)
# The roles a catalog's `roles:` extension may give the holders of the posts it binds. The catalog
# is the legal office's file, so a binding of any other name (`admin`, a typo) gives nobody anything:
# an administrator is made by an administrator (docs/permissions.md), never by a catalog.
CATALOG_ROLES = frozenset(BINDABLE_ROLES)  # the catalog format's own list: legal, establishment, efficiency office


@dataclass(frozen=True)
class Actor:
    username: str
    staff_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    display_name: str = ""

    def has_role(self, *roles: str) -> bool:
        """Admins may do what any role may do."""
        return ADMIN in self.roles or any(role in self.roles for role in roles)
