"""Running: ``build()`` and everything that happens while tasks run.

- :mod:`~cairn.running.build`: the entry points ``build()`` and ``plan()``, and
  ``run_build()``, the one way a build runs (``Pipeline.run`` uses it too); their settings
  come from the one resolver, :mod:`cairn._settings` (below the model layer, since
  ``Task.from_id`` resolves its workspace too);
- :mod:`~cairn.running.loop`: the scheduling loop, the same for every executor (Ctrl-C in
  it: :mod:`~cairn.running.sigint`);
- :mod:`~cairn.running.runner`: running one task: seed, run, write, record;
- :mod:`~cairn.running.context`: the run context, what ``load``, ``dump`` and ``require``
  act on while a task runs;
- :mod:`~cairn.running.outputs`: reading finished tasks' outputs back;
- :mod:`~cairn.running.events`: the build events (every one declared in ``Listener``, with
  no-op defaults in ``BaseListener``) and their fan-out to listeners;
- :mod:`~cairn.running.recorder`: recording finished tasks in their families' histories.
"""

__all__: list[str] = []
