"""Scenario bags with annotated events: annotations, the catalogue, the maker, and the one
scoring rule shared by ``videorag scenario check``, ``videorag bench replay``, the demo and the tests."""
