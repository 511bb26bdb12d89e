"""Routes: the web pages (server-rendered, Chinese) and the demo accounts printed at start-up.

The pages themselves live in `api.pages.*`, one module per kind of user; this module assembles
their routers and, when the demo is on, creates the demo accounts after the catalog area has
loaded the demo catalog (its on_startup runs before this one).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from api.pages import (
    accounts,
    cases,
    dashboard,
    evaluation,
    inbox,
    intake,
    legal,
    print_views,
    public_catalog,
    signin,
)
from engine.auth.demo import DEMO_PASSWORD, DemoAccount, ensure_demo_users
from engine.auth.roles import ADMIN, EFFICIENCY_OFFICE, ESTABLISHMENT_OFFICE, LEGAL_OFFICE, ROLES, STAFF

router = APIRouter()
for _module in (signin, public_catalog, inbox, intake, cases, print_views, dashboard, evaluation, legal, accounts):
    router.include_router(_module.router)


# The accounts printed at start-up: one per role a visitor wants to try (the full list is long).
KEY_ROLES = (LEGAL_OFFICE, ESTABLISHMENT_OFFICE, EFFICIENCY_OFFICE, STAFF, ADMIN)


def key_accounts(accounts: list[DemoAccount]) -> list[DemoAccount]:
    """The first account of each key role (a staff member with no other role for `staff`)."""
    chosen: list[DemoAccount] = []
    for role in KEY_ROLES:
        for account in accounts:
            plain_staff = role != STAFF or account.roles == [STAFF]
            if role in account.roles and plain_staff and account not in chosen:
                chosen.append(account)
                break
    return chosen


def credentials_table(accounts: list[DemoAccount], total: int) -> str:
    lines = ["", f"演示账号（密码均为 {DEMO_PASSWORD}）："]
    for account in accounts:
        roles = "、".join(ROLES[r] for r in account.roles)
        lines.append(f"  {account.username:<8} {account.staff_name:<6} {roles}")
    lines.append(f"  其余工作人员账号为工号小写（共 {total} 个账号），登录 /login")
    return "\n".join(lines) + "\n"


def on_startup(app: FastAPI) -> None:
    """In demo mode: create the demo accounts (the catalog area has loaded the demo catalog) and
    print the key credentials, so whoever started the server can sign in at once."""
    if not app.state.settings.demo:
        return
    with app.state.database.session() as session:
        accounts = ensure_demo_users(session, app.state.clock.now())
    print(credentials_table(key_accounts(accounts), len(accounts)), flush=True)


def on_shutdown(app: FastAPI) -> None:
    """Nothing to release."""
