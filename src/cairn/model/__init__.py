"""The task model: what a user declares, and the id it gets.

- :mod:`~cairn.model.task`: ``Task``: its parameters, requirements, outputs and id;
- :mod:`~cairn.model.meta`: the metaclass (parameters, family, folder) and the parameter
  values a new task takes;
- :mod:`~cairn.model.graph`: nestings of tasks, and ids computed children first;
- :mod:`~cairn.model.params` (and :mod:`~cairn.model.param_specs`, what type checkers see):
  parameter types;
- :mod:`~cairn.model.groups`: parameter groups (``ParameterGroup``, ``@inherits``);
- :mod:`~cairn.model.targets`: ``Target``, where one output lives and its format;
- :mod:`~cairn.model.checks`: data frame checks on dump and load;
- :mod:`~cairn.model.external`: ``ExternalFile``, an input made outside cairn;
- :mod:`~cairn.model.restore`: rebuilding a task from its run record (``Task.from_id``);
- :mod:`~cairn.model.runtime`: the slot where the running layer plugs in the run-time API
  (``load``, ``dump``, ``require``, ...) that ``Task``'s methods delegate to.
"""

__all__: list[str] = []
