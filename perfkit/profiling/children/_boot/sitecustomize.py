"""perfkit's bootstrap for child Python processes of a profiled program.

``perfkit profile`` puts this folder first on ``PYTHONPATH`` while it follows the program's child
processes; Python imports ``sitecustomize`` at start-up, so every new interpreter the program
starts (multiprocessing spawn and forkserver, loky workers, ``subprocess`` running python) starts
perfkit's child sampler here. The folder is then taken off ``sys.path`` (the program sees the path
plain python gives it) and the ``sitecustomize`` this one shadows, if any, is run. Any failure
leaves the child untouched: following a child must never break it.
"""


def _perfkit_follow():  # plain syntax: any python that starts may read this file
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if not (p and os.path.abspath(p) == here)]
    folder = os.environ.get("PERFKIT_CHILDREN_DIR", "")
    if folder and os.path.isdir(folder):
        root = os.environ.get("PERFKIT_CHILDREN_ROOT", "")
        added = bool(root) and root not in sys.path
        try:
            if added:
                sys.path.append(root)  # perfkit may not be installed for this interpreter
            from perfkit.profiling.children import _child

            _child.bootstrap()
        except Exception:  # noqa: BLE001 - never break the child
            pass
        finally:
            if added:
                try:
                    sys.path.remove(root)
                except ValueError:
                    pass
    # Run the sitecustomize this file shadows (a distribution's or a virtualenv's), if any.
    try:
        import importlib.machinery
        import importlib.util

        spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            sys.modules["sitecustomize"] = module
            spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - what site.py does for a failing sitecustomize
        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n")
        sys.stderr.write(repr(exc) + "\n")


_perfkit_follow()
del _perfkit_follow
