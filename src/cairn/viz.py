"""Pictures of a task graph (``cairn.graph``): the public path of :mod:`cairn.inspect.graph`."""

from cairn.inspect.graph import DOT_HINT, FORMATS, Graph, GraphNode, graph

__all__ = ["DOT_HINT", "FORMATS", "Graph", "GraphNode", "graph"]
