"""Keypoint codecs. mmpose's codecs (``UDPHeatmap``, ...) are imported here so that the parent registry is filled
when ``sapiens2.registry.KEYPOINT_CODECS`` imports its location."""
import mmpose.codecs  # noqa: F401
from .batched_udp_heatmap import BatchedUDPHeatmap  # noqa: F401,E402
