"""`strata dashboard`: a local page over the span store (app.py), its queries (data.py) and SVG charts (charts.py)."""
