"""The fault suite: bad input, corruption, crashes and service faults.

Every case asserts three things: the error type (a ``CairnError`` subclass), that the
message names the cause, and that every result already stored is still correct afterwards.

Files:

- ``test_inputs_*.py``: bad input (parameters, settings, command line), refused at the
  earliest moment with a message that says what was wrong and what to do;
- ``test_faults_*.py``: crashes, full disks and dying services (Redis, S3);
- ``test_integrity_*.py``: stored results that were damaged after they were written.

Keep cases fast: small graphs and short timeouts.
"""
