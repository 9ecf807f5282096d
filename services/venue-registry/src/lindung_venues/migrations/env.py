from lindung_shared.migrations import run_env
from lindung_venues.models import Base
from lindung_venues.settings import Settings

run_env(Base.metadata, Settings().sqlalchemy_url)
