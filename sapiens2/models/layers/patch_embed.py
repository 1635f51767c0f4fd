from torch import nn


class PatchEmbed(nn.Module):
    """Non-overlapping patches: Conv2d(kernel = stride = patch_size), flattened row-major.

    ``forward(x [B, C_in, H, W])`` returns (tokens [B, h·w, C], (h, w)). Key: ``projection``.
    """

    def __init__(self, in_channels=3, embed_dims=768, patch_size=16, bias=True):
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Conv2d(in_channels, embed_dims, kernel_size=patch_size, stride=patch_size, bias=bias)

    def forward(self, x):
        x = self.projection(x)
        hw = (x.shape[2], x.shape[3])
        return x.flatten(2).transpose(1, 2), hw
