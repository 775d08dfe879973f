"""Inspection: looking at a workspace and a graph without building anything.

- :mod:`~cairn.inspect.status`: the state of every task of a graph (``cairn.status``);
- :mod:`~cairn.inspect.show`: one run record (``cairn.show``) and what a store holds
  (``cairn.ls``);
- :mod:`~cairn.inspect.gc`: deleting what no root needs (``cairn.gc``);
- :mod:`~cairn.inspect.verify`: every record against its outputs (``cairn.verify``);
- :mod:`~cairn.inspect.graph`: pictures of a graph (``cairn.graph``).
"""

__all__: list[str] = []
