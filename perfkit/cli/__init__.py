"""The ``perfkit`` command line: one module per subcommand, each a thin face over the library."""
