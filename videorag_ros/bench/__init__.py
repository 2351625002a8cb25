"""Every benchmark (``videorag bench <name>``) and the rigs they share. Benchmarks measure and
report; they never assert. Nothing here is imported by the runtime (``core``, ``ros``)."""
