"""Deprecation path for modules whose contents moved (imports and models saved before the move keep working)."""

import importlib
import warnings
from collections.abc import Callable
from typing import Any


def moved_to(old_module: str, new_module: str, names: tuple[str, ...] | None = None) -> Callable[[str], Any]:
    """
    A module-level ``__getattr__`` for ``old_module``: every name it lacks (or only those in ``names``) is looked
    up in ``new_module``, with a ``DeprecationWarning`` that says where to import it from. Unpickling a class saved
    under the old path (e.g. the ``policy_class`` of a saved model) goes through it too.
    """

    def __getattr__(name: str) -> Any:
        if names is not None and name not in names:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(new_module), name)
        warnings.warn(f"{old_module}.{name} has moved: import it from {new_module}", DeprecationWarning, stacklevel=2)
        return value

    return __getattr__
