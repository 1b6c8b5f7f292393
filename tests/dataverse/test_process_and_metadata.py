"""Process moves through opportunitysalesprocesses obey the same gates as /api/v1; QualifyLead;
$metadata and EntityDefinitions as Dataverse clients read them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create, signed_in

API = "/api/data/v9.2"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def stage_ids(client: TestClient, headers: dict[str, str], process_id: str) -> dict[str, str]:
    query = {"$filter": f"_processid_value eq '{process_id}'"}
    rows = client.get(f"{API}/processstages", params=query, headers=headers).json()["value"]
    return {row["stagename"]: row["processstageid"] for row in rows}


def instance_of(client: TestClient, headers: dict[str, str], opportunity_id: str) -> Any:
    query = {"$filter": f"_bpf_opportunityid_value eq {opportunity_id}"}
    rows = client.get(f"{API}/opportunitysalesprocesses", params=query, headers=headers).json()
    assert len(rows["value"]) == 1, rows
    return rows["value"][0]


def test_a_stage_move_is_gated_as_in_v1(client: TestClient, factory: sessionmaker[Session]) -> None:
    headers = signed_in(client, factory)
    opportunity = create(client, headers, "opportunities", name="Gated")
    instance = instance_of(client, headers, opportunity["id"])
    stages = stage_ids(client, headers, instance["_processid_value"])
    assert instance["_activestageid_value"] == stages["Qualify"]
    assert instance["traversedpath"] == stages["Qualify"]
    url = f"{API}/opportunitysalesprocesses({instance['businessprocessflowinstanceid']})"
    develop = {"activestageid@odata.bind": f"/processstages({stages['Develop']})"}

    refused = client.patch(url, json=develop, headers=headers)
    v1 = client.post(f"/api/v1/opportunities/{opportunity['id']}/process/next", headers=headers)
    assert refused.status_code == v1.status_code == 409
    missing = refused.json()["error"]["innererror"]["missing_steps"]
    assert missing == v1.json()["missing_steps"]
    assert {step["label"] for step in missing} == {"Identify Contact", "Identify Account"}
    assert "Identify Contact" in refused.json()["error"]["message"]

    account = create(client, headers, "accounts", name="Gate Co")
    contact = create(client, headers, "contacts", last_name="Gate")
    fill = {"parentaccountid@odata.bind": f"/accounts({account['id']})",
            "parentcontactid@odata.bind": f"/contacts({contact['id']})"}  # fmt: skip
    assert client.patch(f"{API}/opportunities({opportunity['id']})", json=fill,
                        headers=headers).status_code == 204  # fmt: skip
    close = {"activestageid@odata.bind": f"/processstages({stages['Close']})"}
    assert client.patch(url, json=close, headers=headers).status_code == 400  # no jumping
    moved = client.patch(url, json=develop, headers=headers)
    assert moved.status_code == 204, moved.text
    process = client.get(f"/api/v1/opportunities/{opportunity['id']}/process", headers=headers)
    assert process.json()["active_stage"]["key"] == "develop"
    assert process.json()["traversed_path"] == ["qualify", "develop"]
    again = instance_of(client, headers, opportunity["id"])
    assert again["traversedpath"] == f"{stages['Qualify']},{stages['Develop']}"
    assert client.get(f"{API}/opportunities({opportunity['id']})?$select=stepname",
                      headers=headers).json()["stepname"] == "2-Develop"  # fmt: skip

    back = {"activestageid@odata.bind": f"/processstages({stages['Qualify']})"}
    assert client.patch(url, json=back, headers=headers).status_code == 204
    assert (
        instance_of(client, headers, opportunity["id"])["_activestageid_value"] == stages["Qualify"]
    )


def test_qualify_lead_creates_the_records(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    lead = create(client, headers, "leads", topic="Big lead", company_name="Lead Co",
                  last_name="Doe", email="doe@example.com")  # fmt: skip
    body = {"CreateAccount": True, "CreateContact": True, "CreateOpportunity": True, "Status": 3}
    answer = client.post(f"{API}/leads({lead['id']})/Microsoft.Dynamics.CRM.QualifyLead",
                         json=body, headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    made = {row["@odata.type"]: row for row in answer.json()["value"]}
    opportunity_id = made["#Microsoft.Dynamics.CRM.opportunity"]["opportunityid"]
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=headers).json()["state"] == "qualified"
    opportunity = client.get(f"/api/v1/opportunities/{opportunity_id}", headers=headers).json()
    assert opportunity["pipeline_phase"] == "2-Develop"
    again = client.post(f"{API}/leads({lead['id']})/Microsoft.Dynamics.CRM.QualifyLead",
                        json=body, headers=headers)  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["message"]


def test_metadata_declares_types_keys_sets_and_actions(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    answer = client.get(f"{API}/$metadata", headers=headers)
    assert answer.status_code == 200
    schema = ET.fromstring(answer.content).find(f".//{EDM}Schema")
    assert schema is not None
    assert (schema.get("Namespace"), schema.get("Alias")) == ("Microsoft.Dynamics.CRM", "mscrm")
    types = {t.get("Name"): t for t in schema.findall(f"{EDM}EntityType")}
    opportunity = types["opportunity"]
    assert opportunity.find(f"{EDM}Key/{EDM}PropertyRef").get("Name") == "opportunityid"  # type: ignore[union-attr]
    properties = {p.get("Name"): p.get("Type") for p in opportunity.findall(f"{EDM}Property")}
    assert properties["estimatedvalue"] == "Edm.Decimal"
    assert properties["statecode"] == "Edm.Int32"
    navigations = {n.get("Name") for n in opportunity.findall(f"{EDM}NavigationProperty")}
    assert {"parentaccountid", "parentcontactid", "ownerid"} <= navigations
    sets = {s.get("Name") for s in schema.findall(f"{EDM}EntityContainer/{EDM}EntitySet")}
    assert {"accounts", "contacts", "leads", "opportunities", "opportunitycloses"} <= sets
    actions = {a.get("Name") for a in schema.findall(f"{EDM}Action")}
    assert actions == {"WinOpportunity", "LoseOpportunity", "QualifyLead"}


def test_entity_definitions_and_option_labels(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    wanted = "LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute"
    query = {"$filter": "LogicalName eq 'opportunity'", "$select": wanted}
    found = client.get(f"{API}/EntityDefinitions", params=query, headers=headers).json()["value"]
    assert [(d["EntitySetName"], d["PrimaryIdAttribute"], d["PrimaryNameAttribute"])
            for d in found] == [("opportunities", "opportunityid", "name")]  # fmt: skip
    path = ("/EntityDefinitions(LogicalName='opportunity')/Attributes/"
            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata")  # fmt: skip
    picklists = client.get(f"{API}{path}", params={"$select": "LogicalName"}, headers=headers)
    options = {a["LogicalName"]: a["OptionSet"]["Options"] for a in picklists.json()["value"]}
    status = {o["Value"]: o["Label"]["LocalizedLabels"] for o in options["statuscode"]}
    assert {label["LanguageCode"]: label["Label"] for label in status[5]} == {
        1033: "Out-Sold", 1036: "Vendu par la concurrence"}  # fmt: skip
    assert client.get(f"{API}/EntityDefinitions(LogicalName='nothing')",
                      headers=headers).status_code == 404  # fmt: skip


def test_entity_definitions_as_microsofts_client_asks_for_them(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """The requests of PowerPlatform-Dataverse-Client's ``tables.list``, ``list_columns`` and
    ``get_column``: ``IsPrivate eq false``, the attributes filtered and selected, one attribute
    by ``Attributes(LogicalName='…')``."""
    headers = signed_in(client, factory)
    query = {"$filter": "IsPrivate eq false and (LogicalName eq 'lead')",
             "$select": "LogicalName,EntitySetName"}  # fmt: skip
    found = client.get(f"{API}/EntityDefinitions", params=query, headers=headers).json()["value"]
    assert [(d["LogicalName"], d["EntitySetName"]) for d in found] == [("lead", "leads")]
    assert set(found[0]) == {"LogicalName", "EntitySetName", "MetadataId"}
    query = {"$filter": "IsPrivate eq true"}
    assert client.get(f"{API}/EntityDefinitions", params=query, headers=headers).json()[
        "value"] == []  # fmt: skip
    definition = client.get(f"{API}/EntityDefinitions(LogicalName='lead')",
                            headers=headers).json()  # fmt: skip
    attributes = f"{API}/EntityDefinitions({definition['MetadataId']})/Attributes"
    query = {"$filter": "AttributeType eq 'Picklist'", "$select": "LogicalName"}
    picklists = client.get(attributes, params=query, headers=headers).json()["value"]
    assert {a["LogicalName"] for a in picklists} == {
        "leadsourcecode", "statecode", "statuscode", "purchasetimeframe", "purchaseprocess",
    }  # fmt: skip
    assert all(a["OptionSet"]["Options"] for a in picklists)
    one = client.get(f"{attributes}(LogicalName='subject')", headers=headers)
    assert (one.json()["LogicalName"], one.json()["AttributeType"]) == ("subject", "String")
    missing = client.get(f"{attributes}(LogicalName='nothing')", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"]
    bad = client.get(attributes, params={"$select": "Nothing"}, headers=headers)
    assert bad.status_code == 400
