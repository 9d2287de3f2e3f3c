"""A benchmark's hand-written reference app, served the way ``milesgate serve --workers N`` serves milesgate:
one uvicorn process per listening socket, connections spread by the kernel (``gateway/processes.py``), so
both servers of a run meet the same spread of connections over their processes.

  python -m bench.serve_reference module:factory PORT WORKERS   (on 127.0.0.1; bench/common.py runs it)
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from gateway.processes import listening_sockets, serve_processes, spreads_connections

HOST = "127.0.0.1"


def main(app: str, port: int, workers: int) -> int:
    options: dict[str, Any] = {
        "factory": True,
        "host": HOST,
        "port": port,
        "access_log": False,
        "log_level": "warning",
    }
    if workers > 1 and spreads_connections():
        return serve_processes(uvicorn.Config(app, **options), listening_sockets(HOST, port, workers))
    uvicorn.run(app, workers=workers, **options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
