"""Records attached to opportunities (stakeholders, sales team, competitors, files) and notes."""
