"""Model toolchain (needs the ``toolchain`` extra: torch, transformers): export, quantize (one
accuracy/latency gate), random-init cost models, TensorRT engine builds, demo-model training."""
