"""Pictures a person reads: timelines, contact sheets (matplotlib, Agg backend; never imported by core)."""
