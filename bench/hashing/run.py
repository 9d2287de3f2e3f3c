"""argon2id's cost on this machine for each of OWASP's equally strong settings (Password Storage Cheat Sheet:
46 MiB/1 pass, 19 MiB/2, 12 MiB/3, 9 MiB/4, 7 MiB/5, all with 1 lane), so the setting that costs the
service least is chosen by measurement (``loyalty/members/pins.py``, README "PIN and password hashes").

For each setting: the CPU time and wall time of one verification, alone and with ``--threads`` threads
verifying at once (as a gateway's hashing pool does under load), the settings interleaved over
``--rounds`` rounds so a slow minute of the machine does not fall on one setting only.

Run from the project root:
  PYTHONPATH=. .venv/bin/python bench/hashing/run.py [--rounds 5] [--verifications 20] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher

OWASP_SETTINGS = [(47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5)]  # (KiB, passes)


def timed(hasher: PasswordHasher, stored: str, verifications: int, threads: int) -> tuple[float, float]:
    """Milliseconds of CPU (this process) and of wall time per verification."""
    cpu, wall = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(lambda _: hasher.verify(stored, "123456"), range(verifications * threads)):
            pass
    count = verifications * threads
    return 1000 * (time.process_time() - cpu) / count, 1000 * (time.perf_counter() - wall) / count * threads


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--verifications", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    hashers = {
        setting: PasswordHasher(time_cost=setting[1], memory_cost=setting[0], parallelism=1)
        for setting in OWASP_SETTINGS
    }
    stored = {setting: hasher.hash("123456") for setting, hasher in hashers.items()}
    results: dict[tuple[int, int], dict[str, list[float]]] = {
        setting: {"cpu_ms": [], "wall_ms": [], "cpu_ms_threads": [], "wall_ms_threads": []}
        for setting in OWASP_SETTINGS
    }
    for _ in range(args.rounds):
        for setting, hasher in hashers.items():
            hasher.verify(stored[setting], "123456")  # warm
            cpu, wall = timed(hasher, stored[setting], args.verifications, 1)
            results[setting]["cpu_ms"].append(cpu)
            results[setting]["wall_ms"].append(wall)
            cpu, wall = timed(hasher, stored[setting], args.verifications, args.threads)
            results[setting]["cpu_ms_threads"].append(cpu)
            results[setting]["wall_ms_threads"].append(wall)
    for (memory_kib, passes), measured in results.items():
        line: dict[str, float] = {"memory_mib": memory_kib // 1024, "passes": passes, "lanes": 1}
        line |= {name: round(statistics.median(values), 2) for name, values in measured.items()}
        print(json.dumps(line))
    print(f"medians of {args.rounds} interleaved rounds; *_threads: {args.threads} threads verifying at once")


if __name__ == "__main__":
    main()
