"""Interop: Keras files, PyTorch modules, ONNX export."""
