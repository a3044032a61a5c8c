from billingsvc.tables import metadata
from runtime.database import run_migrations

run_migrations(metadata)
