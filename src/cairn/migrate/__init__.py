"""``cairn migrate``: a gokart/luigi code base rewritten for cairn, in place.

::

    report = cairn.migrate.migrate("path/to/project", dry_run=True)
    print(report.diff)     # what would change
    print(report)          # every change, and every place marked "# cairn migrate:"

The rewriting keeps comments and formatting (it works on libcst's concrete syntax tree, from
the ``migrate`` extra: ``pip install cairn[migrate]``); what it cannot convert stays, marked
with a ``# cairn migrate: <what to do>`` comment. Running it again changes nothing more.
:func:`luigi_argv` is what a migrated ``main.py`` calls to keep luigi's command line
(``python main.py Task --param v``) working; it needs no libcst.

Layout: ``_api`` (the run, files in and out), ``_index`` (the classes of the project),
``_code`` (one module), ``_calls``, ``_methods`` and ``_blocks`` (calls, task methods,
statement blocks and imports), ``_names`` (the gokart -> cairn tables), ``_ini`` and
``_toml`` (luigi configuration to cairn.toml), ``_argv`` (luigi's command line),
``_report`` (what is returned).
"""

from cairn.migrate._api import MigrationError, migrate
from cairn.migrate._argv import luigi_argv
from cairn.migrate._report import Entry, Report

__all__ = ["Entry", "MigrationError", "Report", "luigi_argv", "migrate"]
