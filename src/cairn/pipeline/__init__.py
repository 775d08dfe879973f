"""The function style: ``cairn.Pipeline`` of ``cairn.node`` s, compiled into tasks.

- :mod:`cairn.pipeline._node`: one node, a function with named inputs and outputs;
- :mod:`cairn.pipeline._node_task`: ``NodeTask``, the task every node compiles into;
- :mod:`cairn.pipeline._pipeline`: ``Pipeline``, the graph found from the names, and its runs.
"""

from cairn.pipeline._node import Node, node
from cairn.pipeline._node_task import NodeTask
from cairn.pipeline._pipeline import Pipeline

__all__ = ["Node", "NodeTask", "Pipeline", "node"]
