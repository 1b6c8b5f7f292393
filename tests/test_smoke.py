from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import create_opportunity, signed_in


def test_a_new_opportunity_starts_on_qualify(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    headers = signed_in(client, factory)
    opportunity = create_opportunity(client, headers)
    assert opportunity["pipeline_phase"] == "1-Qualify"
    assert opportunity["active_stage"] == "qualify"
    assert opportunity["process_key"] == "opportunity-sales-process"
