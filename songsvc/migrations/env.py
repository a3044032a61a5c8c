from runtime.database import run_migrations
from songsvc.tables import metadata

run_migrations(metadata)
