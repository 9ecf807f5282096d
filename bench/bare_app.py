"""The limit beside the check-in benchmark: a bare FastAPI endpoint returning a constant.

Run under the same server settings as the check-in API (uvicorn, uvloop, httptools, same
number of worker processes), so that the ratio between the two is the cost of Lindung's own
work: token and QR verification, screening, the database transaction.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

app = FastAPI(default_response_class=ORJSONResponse)

ANSWER = {
    "visit_id": "00000000-0000-0000-0000-000000000000",
    "decision": "admitted",
    "colour": "green",
    "occupancy": {"present": 1, "capacity": 100},
    "warnings": [],
}


@app.post("/v1/checkins")
async def checkin() -> dict[str, object]:
    return ANSWER


if __name__ == "__main__":
    # As many processes as the check-in API (CHECKIN_API_WORKERS), so the ratio compares like
    # with like.
    workers = int(os.environ.get("CHECKIN_API_WORKERS") or 1)
    uvicorn.run(
        "bench.bare_app:app" if workers > 1 or os.environ.get("BARE_APP_IMPORT") else app,
        workers=workers,
        # As serve() does: a process still importing on a busy machine is not killed.
        **({"timeout_worker_healthcheck": 120} if workers > 1 else {}),
        host="127.0.0.1",
        port=int(os.environ.get("BARE_APP_PORT", "8090")),
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )
