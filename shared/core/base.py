"""The base of the project's pydantic models: each builds its validator when first used, not when its module is
imported.

A function's cold start imports the logic of its handler and, with it, models that this request never uses
(route_complaint's imported a hundred, mostly of the messages and events it does not handle); building all their
validators at import took about 110 ms of its first request. pydantic builds a deferred model's validator the
first time it validates, dumps or describes its schema, so a request pays only for the models it uses.
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
