from lindung_portal.models import metadata
from lindung_portal.settings import Settings
from lindung_shared.migrations import run_env

run_env(metadata, Settings().sqlalchemy_url)
