"""The base of every model a route reads or answers with."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """Built (its validator, serializer and schema) when first used, not when its module is imported: a
    function's cold start declares the models of all its routes, and one request uses a few of them.
    SnapStart builds them all before the snapshot (snapstart.before_snapshot)."""

    model_config = ConfigDict(defer_build=True)
