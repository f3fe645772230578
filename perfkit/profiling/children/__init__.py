"""Follow the profiled program's child Python processes (``perfkit profile``, on by default).

Parts:

- :mod:`._child`: what runs inside each child (builtin modules only, so a child starts fast),
- ``_boot/sitecustomize.py``: the bootstrap a new interpreter runs (via ``PYTHONPATH``),
- :mod:`.follow`: the parent side: set up the temp folder and environment, ask the live children
  for their data at the end, read it and merge it into the one :class:`Profile`,
- :mod:`.render`: the processes section of the terminal summary and of the HTML report.

This package's ``__init__`` imports nothing: children import :mod:`._child` through it.
"""
