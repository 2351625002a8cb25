"""The videorag-tiny demo model: torch towers, training, ONNX export, int8 quantization, evaluation.

This is the only package that imports torch (``model``, ``train``, ``export``);
``evaluate`` and ``data`` run on onnxruntime and numpy alone.
"""
