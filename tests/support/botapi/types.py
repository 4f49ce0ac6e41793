"""Type aliases of the Bot API server."""

from __future__ import annotations

from typing import Any, Literal

JSONDict = dict[str, Any]
OutageMode = Literal["500", "502", "429", "timeout"]
