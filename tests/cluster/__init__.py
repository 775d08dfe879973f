"""The cluster suite: cairn against a Dask cluster started the way users start one.

``dask scheduler`` and two ``dask worker`` processes from the command line, a moto S3
server as the shared store and a private ``redis-server`` as the lock, all on 127.0.0.1 and
started once per module (see ``conftest.py``). The clients are separate processes running
``cairn run``, as on other machines; the task package they build is installed twice, once
for the clients and once for the workers (``cluster_tasks/``).
"""
