"""The product catalogue: units, products, product families, price lists (issue 10)."""
