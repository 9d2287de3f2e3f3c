"""``python -m gateway.cli``: the same as the ``milesgate`` command."""

from gateway.cli import main

main()
