"""The base of every model a route reads or answers with."""

from __future__ import annotations

import threading
import warnings
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.warnings import UnsupportedFieldAttributeWarning

# FastAPI validates a route's body with a TypeAdapter of the body's type and its Body(alias=...), with
# pydantic's warning that the alias has no effect there silenced (fastapi/_compat/v2.py). The adapter
# of a deferred model is built at its first use, outside that silence: the same warning is silenced.
warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)

# Pydantic (2.13) builds a deferred model in whichever thread uses it first, and does not guard the build:
# a second thread arriving meanwhile rebuilds it too, removing the validator the first one had just set,
# and a third one finds the parent's (Model's, which has no fields) and validates to an empty model.
_building = threading.RLock()


class Model(BaseModel):
    """Built (its validator, serializer and schema) when first used, not when its module is imported: a
    function's cold start declares the models of all its routes, and one request uses a few of them.
    SnapStart builds them all before the snapshot (snapstart.before_snapshot). One thread at a time
    builds: the local API serves requests on several threads, and their first uses meet."""

    model_config = ConfigDict(defer_build=True)

    @classmethod
    def model_rebuild(
        cls,
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        with _building:
            if cls.__pydantic_complete__ and not force:  # built by the thread this one waited for
                return None
            return super().model_rebuild(
                force=force,
                raise_errors=raise_errors,
                # The namespace of the same caller, one frame further now.
                _parent_namespace_depth=_parent_namespace_depth + 1 if _parent_namespace_depth > 0 else 0,
                _types_namespace=_types_namespace,
            )


def every_model() -> list[type[Model]]:
    """Every subclass of Model defined so far, at any depth (generic parametrisations included)."""
    found: list[type[Model]] = []
    waiting: list[type[Model]] = [Model]
    while waiting:
        subclasses = waiting.pop().__subclasses__()
        found += subclasses
        waiting += subclasses
    return found
