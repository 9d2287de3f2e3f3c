"""A benchmark's hand-written reference app, served the way ``milesgate serve --workers N`` serves milesgate:
one uvicorn process per listening socket, connections spread by the kernel (``gateway/processes.py``), so
both servers of a run meet the same spread of connections over their processes.

  python -m bench.serve_reference module:factory PORT WORKERS   (on 127.0.0.1; bench/common.py runs it)
"""

from __future__ import annotations

import sys

from gateway.processes import serve


def main(app: str, port: int, workers: int) -> int:
    return serve(
        app, workers=workers, factory=True, host="127.0.0.1", port=port, access_log=False, log_level="warning"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
