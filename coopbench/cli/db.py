"""``coopbench db upgrade``: create or migrate the store's schema."""

import typer

from coopbench.cli.common import console, settings_from
from coopbench.store import Store

db_app = typer.Typer(help="Manage the SQL store.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Create the schema, or migrate it to the newest revision."""
    store = Store.open(settings_from(ctx))
    store.upgrade()
    console.print(f"store {store.safe_url} is at the newest schema")


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
