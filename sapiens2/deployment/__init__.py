"""Deployment: export (TorchScript, torch.export, ONNX), the onnxruntime runner and fast inference paths.

Modules (imported on demand; this package imports nothing, so that the numpy/onnxruntime runner
:mod:`sapiens2.deployment.onnx_runtime` is usable without torch):

* :mod:`.export` (torch): deploy copies of the task models, ``export_model``, ``load_exported``, the preprocessing
  spec stored with an export, the parity report;
* :mod:`.onnx_runtime` (numpy, OpenCV, onnxruntime only): preprocessing, network, post-processing;
* :mod:`.backends` (torch): ``accelerate(model, backend, ...)`` — eager / torch.compile / onnxruntime and int8
  dynamic quantization behind the inference API.
"""
