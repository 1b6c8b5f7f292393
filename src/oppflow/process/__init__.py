"""Business process flows: definitions loaded from YAML, validated, and the pure process engine."""
