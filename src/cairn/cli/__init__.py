"""The command line, ``cairn`` (also ``python -m cairn``); see :mod:`cairn.cli._main`.

- :mod:`cairn.cli._main`: the commands (run, plan, status, show, ls, gc, graph), exit codes
  and error output;
- :mod:`cairn.cli._output`: what ``cairn run`` prints while it builds;
- :mod:`cairn.cli._tasks`: tasks named on the command line (``module:Task``) and their
  parameters as options.
"""

from cairn.cli._main import EXIT_FAILED, EXIT_OK, EXIT_USAGE, cli, main, resolve_task

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "cli", "main", "resolve_task"]
