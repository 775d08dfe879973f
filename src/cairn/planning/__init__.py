"""Planning: which tasks a build needs, which are complete, and why the others will run.

- :mod:`~cairn.planning.plan`: ``Plan`` and ``PlanEntry``, what ``cairn.plan()`` returns;
- :mod:`~cairn.planning.planner`: the walk from the roots that makes a plan;
- :mod:`~cairn.planning.complete`: when a task is complete;
- :mod:`~cairn.planning.explain`: the reasons, found against the family histories.
"""

__all__: list[str] = []
