"""Asset checks: data quality gates that stop the line when data is not what it should be."""
