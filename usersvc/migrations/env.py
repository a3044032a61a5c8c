from runtime.database import run_migrations
from usersvc.tables import metadata

run_migrations(metadata)
