"""Storage: the workspace's files, with no knowledge of tasks.

- :mod:`~cairn.storage.store`: stores (local directory, any fsspec file system), atomic
  writes, sizes and checksums;
- :mod:`~cairn.storage.layout`: the workspace's shape, the one place that formats and parses
  paths of outputs, run records, code manifests and histories (paths <-> ids);
- :mod:`~cairn.storage.records`: reading run records;
- :mod:`~cairn.storage.integrity`: whether outputs are the bytes their record describes;
- :mod:`~cairn.storage.history`: code manifests and family histories, as plain data.
"""

__all__: list[str] = []
