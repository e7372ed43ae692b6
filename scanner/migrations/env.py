"""Alembic environment: the engine is handed over by `scanner.db.migrate`.

Autogenerate and `alembic check` compare the database with `target_metadata`, which holds
only the tables of the modules imported here: every module that defines tables on
`scanner.models.Base` is imported below (tests/scanner/test_db.py fails when one is missing).
"""

from alembic import context

import console.models  # noqa: F401  (the console's tables join Base.metadata)
import sync.central.models  # noqa: F401  (the central store's tables join Base.metadata)
from scanner.models import Base

target_metadata = Base.metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
