"""yuqing: 舆情监测与回应处置 — public-opinion monitoring and response for a government bureau."""

import importlib.machinery as _machinery
import importlib.util as _util
import os as _os
import sys as _sys

__version__ = "0.1.0"


def _map_queue_folder() -> None:
    # queue/ has no __init__.py so that, from the repository root, it never shadows the
    # standard library's `queue`. setuptools' editable finder cannot map such a namespace
    # folder below a regular package, so in an editable checkout we map it ourselves.
    # An installed wheel has yuqing/queue/ inside the package and needs nothing.
    if "yuqing.queue" in _sys.modules or _util.find_spec("yuqing.queue") is not None:
        return
    folder = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.abspath(__file__))), "queue")
    if _os.path.isdir(folder):
        spec = _machinery.ModuleSpec("yuqing.queue", None, is_package=True)
        spec.submodule_search_locations = [folder]
        module = _util.module_from_spec(spec)
        _sys.modules["yuqing.queue"] = module
        globals()["queue"] = module


_map_queue_folder()
