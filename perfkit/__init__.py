"""perfkit: profile, optimize, and prove every step is faster and still correct."""
__version__ = "0.1.0"
