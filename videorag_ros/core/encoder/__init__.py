"""The image-text encoder at run time: model manifests, preprocessing, tokenizers, and the
onnxruntime / TensorRT runtimes behind ``encoder.load_encoder``. Building, exporting and
quantizing models is the toolchain's job (``videorag_ros.toolchain``)."""
