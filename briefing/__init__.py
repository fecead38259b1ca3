"""专题简报: a period's story (numbers, map, trend, hot issues, surges, units) as an A4 PDF or Word file."""
