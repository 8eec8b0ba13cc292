"""Feature edits: ArcGIS's addFeatures, updateFeatures, deleteFeatures and applyEdits.

Each feature is checked against the layer before anything is written: its geometry must be of
the layer's type (and is projected from its own ``spatialReference``), every attribute must be
a field of the layer with a value of the field's type, length and nullability. Results are
ArcGIS's ``{objectId, globalId, success[, error: {code, description}]}``.

With ``rollbackOnFailure`` (the default) a request is all or nothing: when one edit fails,
nothing is written, the failing edit reports why and the others report that they were rolled
back. Without it, each edit is written on its own (a savepoint) and failures are reported.
"""

from __future__ import annotations

import datetime
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from geosite.core.models import LayerDescription
from geosite.data.source import EditSession, FeatureData
from geosite.data.spatial_reference import resolve
from geosite.engines.edit_geometry import INVALID as _INVALID
from geosite.engines.edit_geometry import (
    EditError,
    GeometryBudget,
    GeometryLimits,
    PreparedGeometry,
    prepare,
)
from geosite.errors import InvalidParameter
from geosite.integers import OBJECT_ID_MAX, OBJECT_ID_MIN, in_range, whole

ROLLED_BACK = (1003, "Operation rolled back.")
NOT_FOUND_UPDATE = (1019, "Update for the object was not attempted. Object may not exist.")
NOT_FOUND_DELETE = (-1, "Delete for the object was not attempted. Object may not exist.")
_INT_RANGES = {
    "esriFieldTypeSmallInteger": (-(2**15), 2**15 - 1),
    "esriFieldTypeInteger": (-(2**31), 2**31 - 1),
}
#: Editor tracking, ArcGIS's field names: role -> (field name, field type).
EDITOR_TRACKING = {
    "creatorField": ("created_user", "esriFieldTypeString"),
    "creationDateField": ("created_date", "esriFieldTypeDate"),
    "editorField": ("last_edited_user", "esriFieldTypeString"),
    "editDateField": ("last_edited_date", "esriFieldTypeDate"),
}


_GUID = re.compile(r"^\{?[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}\}?$")


def global_id_field(layer: LayerDescription) -> str | None:
    """The name of the layer's GlobalID field, if it has one."""
    return layer.global_id_field


def global_id(value: Any) -> str:
    """A GlobalID in ArcGIS's form: 8-4-4-4-12 hexadecimal digits in capitals, in braces."""
    if not isinstance(value, str) or not _GUID.match(value.strip()):
        raise EditError(_INVALID, "A GlobalID must be a GUID such as {8-4-4-4-12 hex digits}.")
    return "{" + value.strip().strip("{}").upper() + "}"


def editor_fields(layer: LayerDescription) -> dict[str, str]:
    """The layer's editor-tracking fields by role (``editFieldsInfo``), when it has them."""
    by_name = {str(f["name"]).lower(): f for f in layer.fields}
    found = {}
    for role, (name, kind) in EDITOR_TRACKING.items():
        spec = by_name.get(name)
        if spec is not None and spec["type"] == kind:
            found[role] = str(spec["name"])
    return found


@dataclass
class LayerEdits:
    """The edits of one layer in one request."""

    layer: LayerDescription
    adds: list[Any] = field(default_factory=list)
    updates: list[Any] = field(default_factory=list)
    deletes: Sequence[int | str] = ()  # GlobalIDs with useGlobalIds


def result(
    object_id: int | None, error: tuple[int, str] | None = None, global_id: str | None = None
) -> dict[str, Any]:
    """An ArcGIS edit result."""
    out: dict[str, Any] = {"objectId": object_id, "globalId": global_id, "success": error is None}
    if error is not None:
        out["error"] = {"code": error[0], "description": error[1]}
    return out


# -- attributes -------------------------------------------------------------------------------


def _field_map(layer: LayerDescription) -> dict[str, dict[str, Any]]:
    return {str(f["name"]).lower(): f for f in layer.fields}


def _value(spec: dict[str, Any], value: Any) -> Any:
    checked = _typed_value(spec, value)
    domain = spec.get("domain")
    if checked is None or not isinstance(domain, dict):
        return checked
    name = spec["name"]
    if domain.get("type") == "codedValue":
        codes = [c["code"] for c in domain.get("codedValues", [])]
        if checked not in codes:
            listed = ", ".join(repr(c) for c in codes[:20])
            raise EditError(
                _INVALID,
                f"Field '{name}' takes a code of its domain '{domain.get('name')}': {listed}.",
            )
    elif domain.get("type") == "range":
        low, high = domain["range"]
        if not low <= checked <= high:
            raise EditError(_INVALID, f"Field '{name}' must lie between {low} and {high}.")
    return checked


def _typed_value(spec: dict[str, Any], value: Any) -> Any:
    name, kind = spec["name"], spec["type"]
    if value is None:
        if spec.get("nullable", True) is False:
            raise EditError(_INVALID, f"Field '{name}' cannot be null.")
        return None
    if kind in _INT_RANGES:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        low, high = _INT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise EditError(_INVALID, f"Field '{name}' needs an integer from {low} to {high}.")
        return value
    if kind in ("esriFieldTypeDouble", "esriFieldTypeSingle"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EditError(_INVALID, f"Field '{name}' needs a number.")
        if not math.isfinite(value):
            raise EditError(_INVALID, f"Field '{name}' needs a finite number.")
        return float(value)
    if kind == "esriFieldTypeString":
        if not isinstance(value, str):
            raise EditError(_INVALID, f"Field '{name}' needs a string.")
        length = int(spec.get("length") or 0)
        if length and len(value) > length:
            raise EditError(_INVALID, f"Field '{name}' takes at most {length} characters.")
        return value
    if kind == "esriFieldTypeDate":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EditError(_INVALID, f"Field '{name}' needs a date in epoch milliseconds.")
        try:
            moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise EditError(_INVALID, f"Field '{name}' has a date out of range.") from None
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    raise EditError(_INVALID, f"Field '{name}' cannot be edited.")


def _given_object_id(value: Any) -> int:
    """An update's OBJECTID: beyond the object ids' range, this feature's error (not the
    request's: the other features may be fine)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise EditError(_INVALID, "OBJECTID must be an integer.")
    if in_range(value, OBJECT_ID_MIN, OBJECT_ID_MAX) is None:
        raise EditError(
            _INVALID,
            f"OBJECTID must be an integer from {OBJECT_ID_MIN} to {OBJECT_ID_MAX}.",
        )
    return value


def attribute_values(
    layer: LayerDescription, attributes: Any, *, adding: bool
) -> tuple[int | None, dict[str, Any]]:
    """(OBJECTID given, column values) of a feature's attributes, checked.

    The GlobalID and editor-tracking fields are the server's: values sent for them are not
    written (``given_global_id`` reads a GlobalID a client names a feature by).
    """
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise EditError(_INVALID, "'attributes' must be a JSON object.")
    fields = _field_map(layer)
    tracked = {name.lower() for name in editor_fields(layer).values()}
    object_id, values = None, {}
    for key, value in attributes.items():
        spec = fields.get(str(key).lower())
        if spec is None:
            raise EditError(_INVALID, f"Field '{str(key)[:64]}' does not exist in the layer.")
        if str(key).lower() in tracked or spec["type"] == "esriFieldTypeGlobalID":
            continue  # the server's to write
        if spec["type"] == "esriFieldTypeOID":
            if not adding:
                object_id = _given_object_id(value)
            continue  # on adds the server assigns it
        values[str(spec["name"])] = _value(spec, value)
    if adding:
        for spec in layer.fields:
            required = spec.get("nullable", True) is False and spec["type"] not in (
                "esriFieldTypeOID",
                "esriFieldTypeGlobalID",
            )
            if required and str(spec["name"]) not in values:
                raise EditError(_INVALID, f"Field '{spec['name']}' cannot be null.")
    return object_id, values


# -- applying ---------------------------------------------------------------------------------


def given_global_id(layer: LayerDescription, attributes: Any) -> str | None:
    """The GlobalID among a feature's attributes (any case of the field's name), checked."""
    name = global_id_field(layer)
    if name is None or not isinstance(attributes, dict):
        return None
    for key, value in attributes.items():
        if str(key).lower() == name.lower() and value is not None:
            return global_id(value)
    return None


def _feature(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise EditError(_INVALID, "Each feature must be a JSON object.")
    return item


@dataclass(frozen=True)
class Editor:
    """Who edits, and when (for editor tracking)."""

    user: str = ""
    now_ms: int = 0


class _Layer:
    """One layer's context while editing: its GlobalID and editor-tracking values."""

    def __init__(
        self,
        layer: LayerDescription,
        editor: Editor,
        use_global_ids: bool,
        geometries: Geometries,
    ) -> None:
        self.layer = layer
        self.gid_field = global_id_field(layer)
        self.use_global_ids = use_global_ids
        self.geometries = geometries
        tracked = editor_fields(layer)
        stamp = {
            "esriFieldTypeString": editor.user,
            "esriFieldTypeDate": _value({"name": "", "type": "esriFieldTypeDate"}, editor.now_ms),
        }
        stamps = {role: (tracked[role], stamp[EDITOR_TRACKING[role][1]]) for role in tracked}
        self.on_add = dict(stamps.values())
        self.on_update = {
            name: value
            for role, (name, value) in stamps.items()
            if role in ("editorField", "editDateField")
        }

    def add_values(self, item: Any) -> tuple[dict[str, Any], str | None]:
        """The values an add writes (checked), and its GlobalID."""
        feature = _feature(item)
        attributes = feature.get("attributes")
        _, values = attribute_values(self.layer, attributes, adding=True)
        values.update(self.on_add)
        gid = None
        if self.gid_field is not None:
            given = given_global_id(self.layer, attributes) if self.use_global_ids else None
            gid = given or "{" + str(uuid.uuid4()).upper() + "}"
            values[self.gid_field] = gid
        values[self.layer.geometry_field] = self._geometry(feature)
        return values, gid

    def add(self, tx: EditSession, item: Any) -> tuple[int, str | None]:
        values, gid = self.add_values(item)
        return tx.insert(self.layer, values), gid

    def add_all(self, tx: EditSession, items: Sequence[Any]) -> list[dict[str, Any]] | None:
        """Every add at once (the backend may send them in bulk), when all of them are valid;
        None when one is not (then they are written one by one, to say which failed)."""
        try:
            checked = [self.add_values(item) for item in items]
        except EditError:
            return None
        ids = tx.insert_many(self.layer, [values for values, _ in checked])
        return [result(i, None, gid) for i, (_, gid) in zip(ids, checked, strict=True)]

    def _geometry(self, feature: dict[str, Any]) -> PreparedGeometry | None:
        """The feature's geometry as prepared before the transaction (``_prepared``)."""
        found = self.geometries.get(id(feature))
        if isinstance(found, EditError):
            raise EditError(found.code, found.description)
        return found

    def update(self, tx: EditSession, item: Any) -> tuple[int, str | None]:
        feature = _feature(item)
        attributes = feature.get("attributes")
        object_id, values = attribute_values(self.layer, attributes, adding=False)
        gid = given_global_id(self.layer, attributes)
        if self.use_global_ids:
            if gid is None:
                raise EditError(_INVALID, "With useGlobalIds, an update needs the GlobalID.")
            object_id = self._object_id(tx, gid, NOT_FOUND_UPDATE)
        if object_id is None:
            raise EditError(_INVALID, "An update needs the feature's OBJECTID in its attributes.")
        values.update(self.on_update)
        if "geometry" in feature:
            values[self.layer.geometry_field] = self._geometry(feature)
        if not tx.update(self.layer, object_id, values):
            raise EditError(*NOT_FOUND_UPDATE)
        return object_id, gid if self.use_global_ids else self._global_id(tx, object_id)

    def delete(self, tx: EditSession, target: int | str) -> tuple[int, str | None]:
        gid: str | None
        if isinstance(target, str):
            gid = global_id(target)
            object_id = self._object_id(tx, gid, NOT_FOUND_DELETE)
        else:
            object_id, gid = target, self._global_id(tx, target)
        if not tx.delete(self.layer, object_id):
            raise EditError(*NOT_FOUND_DELETE)
        return object_id, gid

    def _object_id(self, tx: EditSession, gid: str, missing: tuple[int, str]) -> int:
        found = None if self.gid_field is None else tx.find(self.layer, self.gid_field, gid)
        if found is None:
            raise EditError(*missing)
        return found

    def _global_id(self, tx: EditSession, object_id: int) -> str | None:
        if self.gid_field is None:
            return None
        value = tx.value(self.layer, self.gid_field, object_id)
        return value if isinstance(value, str) else None


def _object_id_of(item: Any, oid: str) -> int | None:
    if isinstance(item, dict):
        attributes = item.get("attributes")
        if isinstance(attributes, dict):
            for key, value in attributes.items():
                if str(key).upper() == oid.upper():
                    return in_range(value, OBJECT_ID_MIN, OBJECT_ID_MAX)
    return None


#: Each feature's geometry (by the feature's ``id``), checked before the write lock is taken.
Geometries = dict[int, PreparedGeometry | EditError | None]


def _prepared(edit: LayerEdits, budget: GeometryBudget) -> Geometries:
    """The geometries of one layer's adds and updates, checked, repaired and projected: the
    slow part of an edit, done before the layer's write lock is taken."""
    sr = resolve(edit.layer.spatial_reference, "layer")
    out: Geometries = {}
    for item in (*edit.adds, *edit.updates):
        if isinstance(item, dict) and "geometry" in item:
            try:
                out[id(item)] = prepare(item["geometry"], edit.layer, sr, budget.limits, budget)
            except EditError as exc:
                out[id(item)] = exc
    return out


def apply_edits(
    data: FeatureData,
    edits: Sequence[LayerEdits],
    rollback_on_failure: bool = True,
    editor: Editor | None = None,
    use_global_ids: bool = False,
    limits: GeometryLimits | None = None,
) -> list[dict[str, Any]]:
    """Apply the edits of one request; per layer ``{addResults, updateResults, deleteResults}``.

    Geometries are checked (within ``limits``) first; the layer's write lock covers only the
    writes.
    """
    outcomes: list[dict[str, list[dict[str, Any]]]] = []
    failed = False
    budget = GeometryBudget(limits or GeometryLimits())
    geometries = [_prepared(edit, budget) for edit in edits]

    class _Rollback(Exception):
        pass

    try:
        with data.edit() as tx:
            for edit, prepared in zip(edits, geometries, strict=True):
                if use_global_ids and global_id_field(edit.layer) is None:
                    raise InvalidParameter(
                        f"useGlobalIds: layer {edit.layer.id} has no GlobalID field."
                    )
                layer = _Layer(edit.layer, editor or Editor(), use_global_ids, prepared)
                done: dict[str, list[dict[str, Any]]] = {
                    "addResults": [],
                    "updateResults": [],
                    "deleteResults": [],
                }
                added = (
                    layer.add_all(tx, edit.adds)
                    if rollback_on_failure and len(edit.adds) > 1
                    else None
                )
                if added is not None:
                    done["addResults"] = added
                steps: list[tuple[str, Any, Any]] = [
                    *(("addResults", layer.add, item) for item in edit.adds if added is None),
                    *(("updateResults", layer.update, item) for item in edit.updates),
                    *(("deleteResults", layer.delete, item) for item in edit.deletes),
                ]
                for key, step, item in steps:
                    try:
                        # Each step is one statement, atomic in itself; without
                        # rollbackOnFailure a savepoint also keeps a failed step's extent out.
                        if rollback_on_failure:
                            object_id, gid = step(tx, item)
                        else:
                            with tx.savepoint():
                                object_id, gid = step(tx, item)
                        done[key].append(result(object_id, None, gid))
                    except EditError as exc:
                        failed = True
                        guess = (
                            item
                            if isinstance(item, int)
                            else _object_id_of(item, edit.layer.object_id_field)
                        )
                        gid_guess = item if isinstance(item, str) else None
                        done[key].append(result(guess, (exc.code, exc.description), gid_guess))
                outcomes.append(done)
            if failed and rollback_on_failure:
                raise _Rollback
    except _Rollback:
        for done in outcomes:
            for key, results in done.items():
                done[key] = [
                    item
                    if not item["success"]
                    else result(
                        None if key == "addResults" else item["objectId"],
                        ROLLED_BACK,
                        None if key == "addResults" else item["globalId"],
                    )
                    for item in results
                ]
    return outcomes


def parse_features(raw: Any, parameter: str) -> list[Any]:
    """The ``features``/``adds``/``updates`` parameter: a JSON array (one object is one feature)."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [raw]
    if not isinstance(raw, list):
        raise InvalidParameter(f"'{parameter}' must be a JSON array of features.")
    return raw


def parse_ids(raw: Any, parameter: str) -> list[int]:
    """``deletes``/``objectIds``: comma-separated or a JSON array of integers."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip()
        parts: list[Any] = text.strip("[]").split(",") if text else []
    elif isinstance(raw, list):
        parts = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        parts = [raw]
    else:
        raise InvalidParameter(f"'{parameter}' must list object ids.")
    ids = []
    for part in parts:
        value = whole(part)
        if value is None:
            raise InvalidParameter(f"'{parameter}' must list integer object ids.")
        if not OBJECT_ID_MIN <= value <= OBJECT_ID_MAX:
            raise InvalidParameter(
                f"'{parameter}' holds an object id out of range "
                f"({OBJECT_ID_MIN} to {OBJECT_ID_MAX})."
            )
        ids.append(value)
    return ids
