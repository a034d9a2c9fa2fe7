"""SDK models as plain records, as the DWS and MRS modules answer them: dicts by the SDK's field names,
without the fields the cloud left out."""

from __future__ import annotations

from typing import Any


def model_record(model: Any) -> dict[str, Any]:
    """An SDK model as a dict by the SDK's field names, without the fields the cloud left out (no model:
    an empty dict)."""
    return _pruned(model.to_dict()) if model is not None else {}


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _pruned(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value
