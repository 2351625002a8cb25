"""Test and benchmark rigs: tiny and faulty ONNX encoders exported on the fly, synthetic frames."""
