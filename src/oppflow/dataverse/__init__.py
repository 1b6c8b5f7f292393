"""A Dataverse-compatible OData v4 Web API at ``/api/data/v9.2/``, over the same services,
repositories and gates as ``/api/v1`` (issue 11; decision 0018)."""
