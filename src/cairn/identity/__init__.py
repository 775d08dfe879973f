"""Identity: what makes a task's id, below everything that stores or runs tasks.

- :mod:`~cairn.identity.canonical`: the type-tagged canonical encoding of values, and digests;
- :mod:`~cairn.identity.files`: content fingerprints of input files outside the store;
- :mod:`~cairn.identity.fingerprint`: code fingerprints of classes and functions, built from
  :mod:`~cairn.identity.source` (normalised source), :mod:`~cairn.identity.codegraph` (what
  code references what) and :mod:`~cairn.identity.usercode` (which code is the user's);
- :mod:`~cairn.identity.environment`: what a run records of the code outside the hash
  (versions of the imported packages, Python, platform, host).
"""

__all__: list[str] = []
