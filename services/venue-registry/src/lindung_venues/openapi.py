from typing import Any

#: FastAPI's ``responses=`` documentation of error statuses.
Responses = dict[int | str, dict[str, Any]]
