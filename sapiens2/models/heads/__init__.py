from .conv_stacks import build_conv_layers, build_deconv_layers

__all__ = ['build_conv_layers', 'build_deconv_layers']
