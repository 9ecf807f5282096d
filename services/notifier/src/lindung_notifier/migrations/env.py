from lindung_notifier.models import metadata
from lindung_notifier.settings import Settings
from lindung_shared.migrations import run_env

run_env(metadata, Settings().sqlalchemy_url)
