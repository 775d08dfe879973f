"""The function style: ``cairn.Pipeline`` of ``cairn.node`` s, compiled into tasks.

A pipeline is a graph found from names: a node reads the outputs of other nodes, paths into
the config, and runtime objects. Construction checks that the names fit (unknown inputs with
the closest names, an output made twice, a cycle, a config path that does not exist); the
list order is kept for display. ``run()`` compiles each node into a :class:`NodeTask` and
builds them with the same planner, executors, stores and locks as tasks, so a node that did
not change (code, config values it reads, inputs) is reused.

Runtime objects (a database engine, a client) are injected by name and never hashed or
stored: a node that reads one reruns only when its code, config values or other inputs
change.
"""

from __future__ import annotations

import copy
import difflib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cairn._errors import CairnError, ConfigError, DependencyCycleError, PipelineError
from cairn._settings import ConfigArg, resolve
from cairn.executors import Executor
from cairn.locks import Lock
from cairn.model.task import Task
from cairn.pipeline._config_paths import config_leaves, replace_config
from cairn.pipeline._node import (
    CONFIG,
    Node,
    check_name,
    config_value,
    encode_config,
    is_config_path,
)
from cairn.pipeline._node_task import NodeTask
from cairn.planning.plan import Plan, Rerun, make_plan
from cairn.running.build import check_numbers, open_workspace, run_build
from cairn.running.events import Listener
from cairn.storage.store import Store

__all__ = ["Pipeline"]


def _one_config(parts: list[Pipeline]) -> Any:
    """The config of the pipelines being joined: the one they share, if any."""
    configs = [p.config for p in parts if p.config is not None]
    if any(c != configs[0] for c in configs[1:]):
        raise PipelineError(
            "cannot join pipelines with different configs; give the joined pipeline the "
            "config you want: cairn.Pipeline([p1, p2], config=...)"
        )
    return configs[0] if configs else None


def _merged_runtime(parts: list[Pipeline]) -> dict[str, Any]:
    runtime: dict[str, Any] = {}
    for part in parts:
        for name, obj in part.runtime.items():
            if name in runtime and runtime[name] is not obj:
                raise PipelineError(
                    f"cannot join pipelines whose runtime objects {name!r} differ; give the "
                    "joined pipeline the ones you want: cairn.Pipeline([p1, p2], runtime={...})"
                )
            runtime[name] = obj
    return runtime


def _closest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" Closest names: {', '.join(map(repr, close))}." if close else ""


class Pipeline:
    """Nodes that read and write named values, run as a graph of tasks.

    Args:
        nodes: nodes made by :func:`cairn.node`, or pipelines (their nodes, config, runtime
            objects and inputs are added, as by ``+``).
        config: a dict, dataclass or pydantic model that ``config`` / ``config.a.b`` inputs
            read. It is copied: change it by making a new pipeline.
        runtime: objects injected by name into the nodes that list them as inputs (a
            database engine, a client). Not part of any id, never stored.
        inputs: names this pipeline reads but another pipeline makes; it runs once added to
            one that does (``ingest + features``). Any other name no node makes is an error.

    Raises:
        PipelineError: for an input no node makes (with the closest names), an output made
            by two nodes, or a runtime name that is also an output.
        DependencyCycleError: when the nodes' names form a cycle (the nodes in it named).
        ConfigError: for a config path that does not exist (with the keys that do), or a
            config value that cannot enter an id.
    """

    def __init__(
        self,
        nodes: Iterable[Node | Pipeline],
        *,
        config: Any = None,
        runtime: Mapping[str, Any] | None = None,
        inputs: str | Iterable[str] = (),
    ) -> None:
        flat: list[Node] = []
        parts: list[Pipeline] = []
        for item in nodes:
            if isinstance(item, Pipeline):
                flat.extend(item.nodes)
                parts.append(item)
            elif isinstance(item, Node):
                flat.append(item)
            else:
                raise PipelineError(
                    f"a pipeline takes nodes made by cairn.node(...) (or pipelines), not "
                    f"{type(item).__qualname__} {item!r}"
                )
        self.nodes: tuple[Node, ...] = tuple(flat)
        if config is None:
            config = _one_config(parts)
        try:
            self.config: Any = copy.deepcopy(config)
        except Exception as exc:
            raise ConfigError(f"the pipeline's config cannot be copied: {exc}") from exc
        self.runtime: dict[str, Any] = _merged_runtime(parts)
        self.runtime.update(runtime or {})
        names = [inputs] if isinstance(inputs, str) else list(inputs)
        declared = [check_name("input", name, "cairn.Pipeline(inputs=...)") for name in names]
        made = {out for n in self.nodes for out in n.outputs}
        for part in parts:
            declared.extend(name for name in part.inputs if name not in made)
        self.inputs: tuple[str, ...] = tuple(dict.fromkeys(declared))
        self._producer: dict[str, int] = {}
        self._order: list[int] = []
        self._tasks: list[NodeTask | CairnError] | None = None
        self._check()

    # --- construction checks --------------------------------------------------------------
    def _check(self) -> None:
        for i, n in enumerate(self.nodes):
            for out in n.outputs:
                other = self._producer.setdefault(out, i)
                if other != i:
                    raise PipelineError(
                        f"output {out!r} is made by two nodes: {self.nodes[other].label()} and "
                        f"{n.label()}. Each output has one producer; rename one of them."
                    )
        for name in self.runtime:
            check_name("runtime object", name, "cairn.Pipeline(runtime=...)")
            if name in self._producer:
                raise PipelineError(
                    f"runtime object {name!r} has the name of an output of node "
                    f"{self.nodes[self._producer[name]].label()}; rename one of them"
                )
        for name in self.inputs:
            if name in self._producer:
                raise PipelineError(
                    f"{name!r} is declared as an input of the pipeline, but node "
                    f"{self.nodes[self._producer[name]].label()} makes it; declare only "
                    "names that another pipeline makes"
                )
        known = {*self._producer, *self.runtime, *self.inputs, CONFIG}
        for n in self.nodes:
            for source in n.inputs:
                if is_config_path(source):
                    if self.config is not None:
                        encode_config({source: config_value(self.config, source, n.label())})
                elif source not in known:
                    raise PipelineError(
                        f"node {n.label()} reads {source!r}, which no node makes and which is "
                        f"neither config, a runtime object nor a declared input."
                        f"{_closest(source, known)} Outputs: "
                        f"{', '.join(map(repr, self._producer)) or 'none'}. (A name another "
                        "pipeline makes is declared with cairn.Pipeline(..., inputs=[...]).)"
                    )
        self._order = self._topological_order()

    def _upstream(self, i: int) -> list[int]:
        """Indexes of the nodes whose outputs node ``i`` reads, in input order, once each."""
        seen: dict[int, None] = {}
        for source in self.nodes[i].inputs:
            j = self._producer.get(source)
            if j is not None and not is_config_path(source):
                seen[j] = None
        return list(seen)

    def _topological_order(self) -> list[int]:
        """Dependency order, keeping list order wherever the names allow."""
        waiting = {i: len(self._upstream(i)) for i in range(len(self.nodes))}
        dependents: dict[int, list[int]] = {}
        for i in waiting:
            for j in self._upstream(i):
                dependents.setdefault(j, []).append(i)
        ready = [i for i, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for k in dependents.get(i, ()):
                waiting[k] -= 1
                if waiting[k] == 0:
                    heapq.heappush(ready, k)
        if len(order) < len(self.nodes):
            self._raise_cycle(set(waiting) - set(order))
        return order

    def _raise_cycle(self, stuck: set[int]) -> None:
        # Walk upstream from a stuck node until a node repeats: that loop is a cycle.
        path: list[int] = []
        at = min(stuck)
        while at not in path:
            path.append(at)
            at = next(j for j in self._upstream(at) if j in stuck)
        cycle = path[path.index(at) :]
        cycle.reverse()  # upstream first, then from the node listed first
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        nodes = [self.nodes[i] for i in cycle]
        names = " -> ".join(n.name for n in [*nodes, nodes[0]])
        raise DependencyCycleError(
            f"pipeline nodes form a cycle: {names} ({'; '.join(n.label() for n in nodes)}). "
            "A node cannot read, directly or through others, what it makes.",
            nodes,
        )

    # --- composition and display ----------------------------------------------------------
    def __add__(self, other: Pipeline) -> Pipeline:
        """The nodes of both, with their config and runtime objects; an output made by both
        is an error, and so are different configs or different runtime objects under one
        name."""
        if not isinstance(other, Pipeline):
            return NotImplemented
        return Pipeline([self, other])

    @property
    def outputs(self) -> list[str]:
        """Every output name, in list order."""
        return [out for n in self.nodes for out in n.outputs]

    def __repr__(self) -> str:
        return f"<Pipeline of {len(self.nodes)} node(s): {', '.join(n.name for n in self.nodes)}>"

    def __str__(self) -> str:
        return "\n".join(n.label() for n in self.nodes)

    # --- compiling ------------------------------------------------------------------------
    def _compile(self) -> list[NodeTask | CairnError]:
        """One task per node (by list index), made once; or why the node cannot run."""
        if self._tasks is not None:
            return self._tasks
        tasks: dict[int, NodeTask | CairnError] = {}
        for i in self._order:
            n = self.nodes[i]
            upstream = [tasks[j] for j in self._upstream(i)]
            problem = next((t for t in upstream if isinstance(t, CairnError)), None)
            config = {}
            free = [source for source in n.inputs if source in self.inputs]
            if free:
                problem = PipelineError(
                    f"node {n.label()} reads {free[0]!r}, an input of this pipeline that no "
                    "node makes: add a pipeline that makes it (ingest + features)"
                )
            for source in n.inputs:
                if problem is not None:
                    break
                if is_config_path(source) and self.config is None:
                    problem = ConfigError(
                        f"node {n.label()} reads {source!r}, but the pipeline has no config: "
                        "pass cairn.Pipeline(..., config=...)"
                    )
                elif is_config_path(source):
                    config[source] = config_value(self.config, source, n.label())
            if problem is not None:
                tasks[i] = problem
                continue
            objects = {s: self.runtime[s] for s in n.inputs if s in self.runtime}
            tasks[i] = NodeTask(node=n, upstream=tuple(upstream), config=config, runtime=objects)
        self._tasks = [tasks[i] for i in range(len(self.nodes))]
        return self._tasks

    def _select(self, outputs: str | Iterable[str] | None) -> tuple[list[str], list[NodeTask]]:
        """The output names to return and the tasks to build for them (list order)."""
        if outputs is None:
            names, wanted = self.outputs, set(range(len(self.nodes)))
        else:
            names = [outputs] if isinstance(outputs, str) else list(outputs)
            side_effects = {n.name: i for i, n in enumerate(self.nodes) if not n.outputs}
            wanted = set()
            for name in names:
                i = self._producer.get(name, side_effects.get(name))
                if i is None:
                    raise PipelineError(
                        f"the pipeline has no output {name!r}."
                        f"{_closest(name, [*self._producer, *side_effects])} "
                        f"Outputs: {', '.join(map(repr, self._producer)) or 'none'}."
                    )
                wanted.add(i)
            names = [name for name in names if name in self._producer]
        roots = []
        for i in sorted(wanted):
            task = self._compile()[i]
            if isinstance(task, CairnError):
                raise task.with_traceback(None)
            roots.append(task)
        return names, roots

    def tasks(self, outputs: str | Iterable[str] | None = None) -> list[Task[Any]]:
        """The compiled tasks that make ``outputs`` (default: every node), for
        :func:`cairn.build`, :func:`cairn.plan` or drawing."""
        return list(self._select(outputs)[1])

    def final_tasks(self) -> list[Task[Any]]:
        """The compiled tasks of the nodes whose outputs no other node reads (list order):
        the roots of the pipeline's graph, which reach every node. ``cairn.status(pipe)``,
        ``cairn.graph(pipe)`` and the command line start from these."""
        read = {j for i in range(len(self.nodes)) for j in self._upstream(i)}
        _, tasks = self._select(None)
        return [task for i, task in enumerate(tasks) if i not in read]

    @property
    def settings(self) -> dict[str, Any]:
        """Every leaf of the config by dotted path: ``{"min_count": 5, "model.lr": 0.1}``."""
        return config_leaves(self.config)

    def configured(self, values: Mapping[str, Any]) -> Pipeline:
        """The same pipeline with the config values at these dotted paths replaced
        (``pipe.configured({"min_count": 5, "model.lr": 0.2})``); the nodes that read them,
        and what is downstream, get new ids.

        Raises:
            ConfigError: for a path that is not in the config (with the keys that are).
        """
        config = replace_config(self.config, values)
        return Pipeline(self.nodes, config=config, runtime=self.runtime, inputs=self.inputs)

    def _plan(self, roots: list[NodeTask], store: Store, rerun: Rerun) -> Plan:
        the_plan = make_plan(list(roots), store, rerun=rerun)
        tasks = self._compile()
        position = {id(tasks[i]): pos for pos, i in enumerate(self._order)}
        entries = sorted(the_plan.entries, key=lambda e: position[id(e.task)])
        return Plan(entries, the_plan.roots, the_plan.made)

    # --- running --------------------------------------------------------------------------
    def plan(
        self,
        outputs: str | Iterable[str] | None = None,
        *,
        workspace: str | None = None,
        rerun: Rerun = False,
        storage_options: dict[str, Any] | None = None,
        config: ConfigArg = None,
    ) -> Plan:
        """What :meth:`run` would do, without running anything: every node reached, in
        dependency order (list order where the names allow), with ``will_run`` and a
        ``reason``. The workspace resolves as for :func:`cairn.build`."""
        _, roots = self._select(outputs)
        store = open_workspace(workspace, storage_options, config)
        return self._plan(roots, store, rerun)

    def run(
        self,
        outputs: str | Iterable[str] | None = None,
        *,
        workspace: str | None = None,
        executor: str | Executor | None = None,
        workers: int | None = None,
        lock: str | Lock | bool | None = None,
        rerun: Rerun = False,
        storage_options: dict[str, Any] | None = None,
        lock_wait: float | None = None,
        listener: Listener | None = None,
        hooks: Sequence[Any] = (),
        config: ConfigArg = None,
        progress: bool | None = None,
        summary: bool = True,
        retries: int = 0,
        retry_delay: float = 0.0,
        dask_address: Any = None,
    ) -> dict[str, Any]:
        """Run what is not complete and return the outputs, by name.

        ``outputs`` selects output names (and side-effect nodes, by node name) to make; only
        the nodes they need run. By default every node runs and every output is returned, in
        list order. Nodes whose code, config values and inputs did not change are reused.
        ``rerun=True`` reruns the selected nodes, ``rerun="all"`` every node reached. The
        other arguments are those of :func:`cairn.build`, and settings resolve the same way
        (argument, ``CAIRN_*`` environment, the configuration file, default). ``config`` is
        cairn's configuration (a :class:`cairn.Config` or a file path), not the pipeline's.

        Raises:
            BuildError: when nodes failed, after every node not downstream of a failure ran.
        """
        check_numbers(lock_wait=lock_wait, retry_delay=retry_delay)
        names, roots = self._select(outputs)
        settings = resolve(
            config,
            workspace=workspace,
            executor=executor,
            workers=workers,
            lock=lock,
            storage_options=storage_options,
        )

        def make(store: Store) -> Plan:
            return self._plan(roots, store, rerun)

        def collect(store: Store) -> dict[str, Any]:
            made = {out: task for task in roots for out in task.node.outputs}
            return {name: made[name].output_value(name, store) for name in names}

        result: dict[str, Any] = run_build(
            roots,
            make,
            collect,
            settings,
            listeners=[listener, *hooks],
            lock_wait=lock_wait,
            progress=progress,
            summary=summary,
            retries=retries,
            retry_delay=retry_delay,
            dask_address=dask_address,
        )
        return result
