"""Imported by the process executor's forkserver, so that forked workers start warm.

The forkserver imports this module once, before it forks any worker; every worker then
starts with cairn imported and the installed packages' metadata read
(:func:`cairn.identity.environment.warm_up`) instead of doing that on its first task. Later
pools of the same program fork from the same forkserver and start at once. numpy is not
imported here: it starts threads, and a process with threads must not fork.
"""

from __future__ import annotations

from cairn.identity.environment import warm_up

__all__: list[str] = []

warm_up(numpy=False)
