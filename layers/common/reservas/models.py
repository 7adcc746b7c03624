"""The base of every model a route reads or answers with."""

import warnings

from pydantic import BaseModel, ConfigDict
from pydantic.warnings import UnsupportedFieldAttributeWarning

# FastAPI validates a route's body with a TypeAdapter of the body's type and its Body(alias=...), with
# pydantic's warning that the alias has no effect there silenced (fastapi/_compat/v2.py). The adapter
# of a deferred model is built at its first use, outside that silence: the same warning is silenced.
warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)


class Model(BaseModel):
    """Built (its validator, serializer and schema) when first used, not when its module is imported: a
    function's cold start declares the models of all its routes, and one request uses a few of them.
    SnapStart builds them all before the snapshot (snapstart.before_snapshot)."""

    model_config = ConfigDict(defer_build=True)
