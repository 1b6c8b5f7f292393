"""``$metadata`` (OData v4 CSDL, namespace ``Microsoft.Dynamics.CRM`` alias ``mscrm``), the
service document, and ``EntityDefinitions`` with their option sets labelled in 1033 and 1036."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from oppflow.api.deps import ActorDep
from oppflow.dataverse import filter as odata_filter
from oppflow.dataverse.entities import BY_LOGICAL_NAME, ENTITY_SETS, Column, EntitySet
from oppflow.dataverse.errors import BadQuery
from oppflow.dataverse.filter import Comparison, Junction, Node, Not
from oppflow.dataverse.options import OptionSet
from oppflow.dataverse.urls import base_url
from oppflow.errors import NotFound

router = APIRouter()
NAMESPACE = "Microsoft.Dynamics.CRM"
_DEFINITION = re.compile(
    r"^(?:\((?:LogicalName='(?P<name>\w+)'|(?P<id>[0-9a-fA-F-]{36}))\))?"
    r"(?P<attributes>/Attributes(?:\(LogicalName='(?P<attribute>\w+)'\)"
    r"|/Microsoft\.Dynamics\.CRM\.(?P<cast>\w+))?)?$"
)
_ACTIONS = """
<Action Name="WinOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" \
Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>
<Action Name="LoseOpportunity"><Parameter Name="OpportunityClose" Type="mscrm.opportunityclose" \
Nullable="false"/><Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>
<Action Name="QualifyLead" IsBound="true"><Parameter Name="entity" Type="mscrm.lead" \
Nullable="false"/><Parameter Name="CreateAccount" Type="Edm.Boolean" Nullable="false"/>\
<Parameter Name="CreateContact" Type="Edm.Boolean" Nullable="false"/><Parameter \
Name="CreateOpportunity" Type="Edm.Boolean" Nullable="false"/><Parameter Name="Status" \
Type="Edm.Int32" Nullable="false"/><ReturnType Type="Collection(mscrm.crmbaseentity)" \
Nullable="false"/></Action>"""


def metadata_id(logical_name: str) -> uuid.UUID:
    """A stable MetadataId per entity or attribute, as Dataverse has one."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"oppflow:dataverse:{logical_name}")


@router.get("/")
async def service_document(request: Request, _actor: ActorDep) -> dict[str, Any]:
    """The entity sets this API serves."""
    sets = [{"name": n, "kind": "EntitySet", "url": n} for n in ENTITY_SETS]
    return {"@odata.context": f"{base_url(request)}$metadata", "value": sets}


@router.get("/$metadata")
async def csdl(_actor: ActorDep) -> Response:
    """Every entity type, key, property, navigation property, entity set and action."""
    return Response(CSDL, media_type="application/xml", headers={"OData-Version": "4.0"})


def _entity_type(entity: EntitySet) -> str:
    properties = "".join(f'<Property Name="{c.name}" Type="{c.edm}"/>' for c in entity.columns)
    navigations = "".join(
        f'<NavigationProperty Name="{c.navigation}" '
        f'Type="mscrm.{ENTITY_SETS[c.target].logical_name}"/>'
        for c in entity.columns
        if c.navigation and c.target in ENTITY_SETS
    )
    return (
        f'<EntityType Name="{entity.logical_name}" BaseType="mscrm.crmbaseentity">'
        f'<Key><PropertyRef Name="{entity.key}"/></Key>{properties}{navigations}</EntityType>'
    )


def _property(column: Column) -> str:
    if column.writable:
        return f'<Property Name="{column.name}" Type="{column.edm}"/>'
    # Core.Computed: generic clients leave read-only properties out of what they send.
    return (
        f'<Property Name="{column.name}" Type="{column.edm}">'
        '<Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/></Property>'
    )


def _entity_set(entity: EntitySet) -> str:
    bindings = "".join(
        f'<NavigationPropertyBinding Path="{c.navigation}" Target="{c.target}"/>'
        for c in entity.columns
        if c.navigation and c.target in ENTITY_SETS
    )
    return (
        f'<EntitySet Name="{entity.name}" EntityType="{NAMESPACE}.{entity.logical_name}">'
        f"{bindings}</EntitySet>"
    )


def _csdl() -> str:
    types = "".join(_entity_type(entity) for entity in ENTITY_SETS.values())
    sets = "".join(_entity_set(entity) for entity in ENTITY_SETS.values())
    imports = (
        f'<ActionImport Name="WinOpportunity" Action="{NAMESPACE}.WinOpportunity"/>'
        f'<ActionImport Name="LoseOpportunity" Action="{NAMESPACE}.LoseOpportunity"/>'
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        "<edmx:DataServices>"
        f'<Schema Namespace="{NAMESPACE}" Alias="mscrm" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        '<EntityType Name="crmbaseentity" Abstract="true"/>'
        f"{types}{_ACTIONS.replace(chr(10), '')}"
        f'<EntityContainer Name="System">{sets}{imports}</EntityContainer>'
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )


CSDL = _csdl()


@router.get("/EntityDefinitions{rest:path}")
async def entity_definitions(request: Request, rest: str, _actor: ActorDep) -> dict[str, Any]:
    """Entity definitions (filtered and selected), one of them, its attributes (filtered and
    selected too), or one attribute by ``Attributes(LogicalName='…')``;
    ``/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`` has the option sets."""
    found = _DEFINITION.match(rest)
    if found is None:
        raise NotFound(f"Resource not found for the segment 'EntityDefinitions{rest[:60]}'.")
    context = {"@odata.context": f"{base_url(request)}$metadata#EntityDefinitions"}
    if found.group("name") is None and found.group("id") is None:
        wanted = request.query_params.get("$filter")
        rows = [_definition(e) for e in ENTITY_SETS.values()]
        rows = [row for row in rows if not wanted or matches(odata_filter.parse(wanted), row)]
        return {**context, "value": [_selected(row, request) for row in rows]}
    entity = _entity_by(found.group("name"), found.group("id"))
    if found.group("attributes") is None:
        return {**context, **_selected(_definition(entity), request)}
    attributes = _attributes(entity, found.group("cast"))
    if found.group("attribute") is not None:
        named = [a for a in attributes if a["LogicalName"] == found.group("attribute")]
        if not named:
            raise NotFound(f"Could not find an attribute named {found.group('attribute')}.")
        return {**context, **_selected(named[0], request)}
    wanted = request.query_params.get("$filter")
    rows = [row for row in attributes if not wanted or matches(odata_filter.parse(wanted), row)]
    return {**context, "value": [_selected(row, request) for row in rows]}


def _entity_by(name: str | None, key: str | None) -> EntitySet:
    for entity in BY_LOGICAL_NAME.values():
        if entity.logical_name == name or (key and str(metadata_id(entity.logical_name)) == key):
            return entity
    raise NotFound(f"Could not find an entity with the name {name or key}.")


def _definition(entity: EntitySet) -> dict[str, Any]:
    return {
        "MetadataId": str(metadata_id(entity.logical_name)),
        "LogicalName": entity.logical_name,
        "SchemaName": entity.logical_name.capitalize(),
        "EntitySetName": entity.name,
        "PrimaryIdAttribute": entity.key,
        "PrimaryNameAttribute": entity.primary_name,
        "PrimaryImageAttribute": None,
        "IsPrivate": False,
    }


def _selected(row: dict[str, Any], request: Request) -> dict[str, Any]:
    wanted = request.query_params.get("$select")
    if not wanted:
        return row
    names = [name.strip() for name in wanted.split(",")]
    unknown = [name for name in names if name not in row]
    if unknown:
        raise BadQuery(f"Could not find a property named '{unknown[0]}' on the metadata.")
    # The key, the type annotation and an attribute's option set (as if expanded) stay.
    kept = [*names, "MetadataId", *(name for name in _ALWAYS_KEPT if name in row)]
    return {name: row[name] for name in kept}


_ALWAYS_KEPT = ("@odata.type", "OptionSet")


def matches(node: Node, row: dict[str, Any]) -> bool:
    """A ``$filter`` of eq and ne over rows held in memory (entity definitions, stages)."""
    if isinstance(node, Junction):
        left, right = matches(node.left, row), matches(node.right, row)
        return (left and right) if node.operator == "and" else (left or right)
    if isinstance(node, Not):
        return not matches(node.operand, row)
    if not isinstance(node, Comparison) or node.operator not in ("eq", "ne"):
        raise BadQuery("This set is filtered with eq and ne only.")
    if node.property not in row:
        raise BadQuery(f"Could not find a property named '{node.property}'.")
    equal = str(row[node.property]).lower() == str(node.value).lower()
    return equal if node.operator == "eq" else not equal


def _attributes(entity: EntitySet, cast: str | None) -> list[dict[str, Any]]:
    if cast not in (None, "PicklistAttributeMetadata"):
        return []
    columns = [c for c in entity.columns if cast is None or c.option_set is not None]
    return [_attribute(entity, column) for column in columns]


def _attribute(entity: EntitySet, column: Column) -> dict[str, Any]:
    body: dict[str, Any] = {
        "MetadataId": str(metadata_id(f"{entity.logical_name}.{column.name}")),
        "LogicalName": column.name,
        "SchemaName": column.name,
        "AttributeType": _ATTRIBUTE_TYPES[column.kind],
        "IsValidForCreate": column.writable,
        "IsValidForUpdate": column.writable,
    }
    if column.option_set is not None:
        body["@odata.type"] = f"#{NAMESPACE}.PicklistAttributeMetadata"
        body["OptionSet"] = _option_set(column.option_set)
    return body


_ATTRIBUTE_TYPES = {
    "text": "String", "money": "Money", "integer": "Integer", "date": "DateTime",
    "datetime": "DateTime", "boolean": "Boolean", "guid": "Uniqueidentifier",
    "lookup": "Lookup", "picklist": "Picklist",
}  # fmt: skip


def _label(english: str, french: str) -> dict[str, Any]:
    localized = [
        {"Label": english, "LanguageCode": 1033},
        {"Label": french, "LanguageCode": 1036},
    ]
    return {"LocalizedLabels": localized, "UserLocalizedLabel": localized[0]}


def _option_set(option_set: OptionSet) -> dict[str, Any]:
    return {
        "Name": option_set.name,
        "Options": [
            {"Value": o.value, "Label": _label(o.english, o.french)} for o in option_set.options
        ],
    }
