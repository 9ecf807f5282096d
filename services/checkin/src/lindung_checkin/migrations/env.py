from lindung_checkin.models import metadata
from lindung_checkin.settings import Settings
from lindung_shared.migrations import run_env

run_env(metadata, Settings().sqlalchemy_url)
