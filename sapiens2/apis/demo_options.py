"""Command-line options the demos share (``pose_demo.py``, ``dense_demo.py``, ``human_pass.py``): video tracking and
smoothing (``--sequence --track --smooth ...``) and pose output (``--format --kpt-set --kpt-thr``); person detection
options live in :func:`sapiens2.apis.detection.add_detector_args`.

Nothing heavy is imported here (the demos parse their arguments before loading torch): the ``--format`` choices are
spelled out and a test checks them against :data:`sapiens2.utils.keypoint_formats.KEYPOINT_FORMATS`."""
import argparse

KEYPOINT_FORMAT_NAMES = ('goliath308', 'coco17', 'coco_wholebody133', 'openpose18')


def add_track_args(parser):
    g = parser.add_argument_group('video: tracking and smoothing')
    g.add_argument('--sequence', action='store_true', help='read a folder as the frames of one video (tracked)')
    g.add_argument('--fps', type=float, default=25.0, help='frame rate of a --sequence folder')
    g.add_argument('--track', action=argparse.BooleanOptionalAction, default=True,
                   help='IoU/Hungarian tracking with stable ids on videos (default on)')
    g.add_argument('--track-iou', type=float, default=0.3, help='minimum IoU to continue a track')
    g.add_argument('--track-max-lost', type=int, default=30, help='frames a track survives unmatched')
    g.add_argument('--smooth', action='store_true', help="One-Euro smoothing of each track's keypoints")
    g.add_argument('--smooth-min-cutoff', type=float, default=1.0, help='One-Euro min cutoff (Hz); lower = smoother')
    g.add_argument('--smooth-beta', type=float, default=0.0, help='One-Euro speed coefficient; higher = less lag')
    return g


def add_pose_output_args(parser, kpt_thr: bool = True):
    g = parser.add_argument_group('pose output')
    g.add_argument('--format', default='goliath308', choices=KEYPOINT_FORMAT_NAMES, help='keypoint layout of the JSON')
    g.add_argument('--kpt-set', default=None,
                   help="keypoints drawn: all, coco_wholebody (53), coco17, or groups 'body,foot,left_hand,...' "
                        "(default: the set the pose config's training data supervises)")
    if kpt_thr:
        g.add_argument('--kpt-thr', type=float, default=0.3, help='score threshold for drawing')
    return g


def finish_options(args, panel: bool = True):
    """:class:`~sapiens2.apis.human_pass.FinishOptions` from parsed options (pose ones default when absent)."""
    from .human_pass import FinishOptions
    return FinishOptions(fmt=getattr(args, 'format', 'goliath308'), kpt_set=getattr(args, 'kpt_set', None),
                         kpt_thr=getattr(args, 'kpt_thr', 0.3), track=args.track, track_iou=args.track_iou,
                         track_max_lost=args.track_max_lost, smooth=args.smooth,
                         smooth_min_cutoff=args.smooth_min_cutoff, smooth_beta=args.smooth_beta, panel=panel)
