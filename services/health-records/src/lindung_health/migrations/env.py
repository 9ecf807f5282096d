from lindung_health.models import Base
from lindung_health.settings import Settings
from lindung_shared.migrations import run_env

run_env(Base.metadata, Settings().sqlalchemy_url)
