"""Planning: which tasks a build needs, which are complete, and why the others will run.

- :mod:`~cairn.planning.plan`: ``Plan`` and ``PlanEntry`` (what ``cairn.plan()`` returns),
  when a task is complete, and the walk from the roots that makes a plan;
- :mod:`~cairn.planning.explain`: the reasons, found by comparing a task with its family's
  history;
- :mod:`~cairn.planning.entries`: what a history entry holds of a task.
"""

__all__: list[str] = []
