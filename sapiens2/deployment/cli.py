"""Command-line options of the fast paths, shared by the demos (no heavy imports until a model is accelerated)."""


def add_backend_args(parser):
    parser.add_argument('--backend', default='eager', choices=['eager', 'compile', 'onnxruntime'],
                        help='network backend: eager PyTorch, torch.compile, or the network exported to ONNX and '
                             'run by onnxruntime (fp32 / int8)')
    parser.add_argument('--quantize', default=None, choices=['int8'],
                        help='dynamic int8 quantization of the linear layers (torch.ao, or onnxruntime)')
    return parser


def accelerate_model(model, backend='eager', dtype='fp32', quantize=None, **kwargs):
    """:func:`sapiens2.apis.inference.accelerate_model` (imported on first use)."""
    from sapiens2.apis.inference import accelerate_model as accelerate
    return accelerate(model, backend, dtype, quantize, **kwargs)
