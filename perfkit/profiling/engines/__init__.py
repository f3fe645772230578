"""Profiler engines: one adapter module per engine behind :class:`~.base.Engine`."""
