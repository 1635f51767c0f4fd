"""Plot training curves of an MMEngine run (``vis_data/scalars.json``) to one PNG, one panel per key or key group.

    python tools/analysis/plot_curves.py work_dirs/sapiens2_1b_pretrain [--out curves.png] \
        [--keys loss loss_mae teacher_entropy+teacher_batch_entropy] [--log-y]

RUN is a work dir (its newest ``<timestamp>/vis_data/scalars.json``), one ``<timestamp>`` folder or the
``scalars.json`` itself. A key group ``a+b`` shares a panel. By default every logged key containing ``loss`` gets a
panel, validation metrics (keys with a '/') one each, and the pretraining diagnostics ``teacher_entropy`` and
``teacher_batch_entropy`` share one. Values are as logged: training keys are already window means.
"""
import argparse
import glob
import json
import math
import os.path as osp
from typing import Dict, List, Sequence

DIAGNOSTICS = 'teacher_entropy+teacher_batch_entropy'


def find_scalars(run: str) -> str:
    """RUN (work dir, timestamp folder or scalars.json) -> path of the scalars.json to plot (the newest run)."""
    if osp.isfile(run):
        return run
    for pattern in ('vis_data/scalars.json', '*/vis_data/scalars.json'):
        found = sorted(glob.glob(osp.join(run, pattern)))
        if found:
            return found[-1]  # timestamp folders sort chronologically
    raise FileNotFoundError(f'no vis_data/scalars.json under {run}: is it an MMEngine work dir? (LocalVisBackend '
                            'writes it; configs/_base_/default_runtime.py enables it)')


def read_scalars(path: str) -> List[dict]:
    """One dict per logged line; lines that are not JSON are reported by number."""
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f'{path}:{number} is not a JSON line ({e})') from None
    return records


def default_panels(records: Sequence[dict]) -> List[str]:
    keys = list(dict.fromkeys(k for r in records for k in r))
    panels = [k for k in keys if 'loss' in k and '/' not in k]
    if all(k in keys for k in DIAGNOSTICS.split('+')):
        panels.append(DIAGNOSTICS)
    panels += [k for k in keys if '/' in k]  # validation metrics named 'task/metric' (others: --keys)
    return panels


def series(records: Sequence[dict], key: str) -> Dict[str, list]:
    """x (iteration, or 'step' for validation lines) and y of every record that logged ``key``."""
    xs, ys = [], []
    for r in records:
        if key in r and isinstance(r[key], (int, float)):
            xs.append(r.get('iter', r.get('step')))
            ys.append(r[key])
    return dict(x=xs, y=ys)


def plot_curves(records: Sequence[dict], panels: Sequence[str], out: str, title: str = '', log_y=False) -> str:
    """Draw ``panels`` (keys, or groups 'a+b') of ``records`` to ``out`` (PNG); returns ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    logged = sorted({k for r in records for k in r})
    missing = [k for p in panels for k in p.split('+') if not series(records, k)['x']]
    if missing:
        raise KeyError(f'not logged: {missing}; logged keys: {logged}')
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        for key in panel.split('+'):
            s = series(records, key)
            ax.plot(s['x'], s['y'], marker='.' if len(s['x']) < 20 else None, label=key)
        ax.set_title(panel.replace('+', ' / '), fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if log_y:
            ax.set_yscale('log')
        if '+' in panel:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('run', help='work dir, timestamp folder or scalars.json')
    parser.add_argument('--out', help='PNG to write (default: curves.png next to the run\'s timestamp folder)')
    parser.add_argument('--keys', nargs='+', help="panels: keys, or groups 'a+b' sharing a panel")
    parser.add_argument('--title', default=None, help='figure title (default: the scalars.json path)')
    parser.add_argument('--log-y', action='store_true', help='logarithmic y axes')
    args = parser.parse_args()
    path = find_scalars(args.run)
    records = read_scalars(path)
    panels = args.keys or default_panels(records)
    if not panels:
        raise SystemExit(f'{path}: nothing to plot (no loss keys); pass --keys')
    out = args.out or osp.join(osp.dirname(osp.dirname(osp.dirname(path))) or '.', 'curves.png')
    plot_curves(records, panels, out, args.title if args.title is not None else path, args.log_y)
    print(f'wrote {len(panels)} panel(s) of {len(records)} logged lines to {out}')


if __name__ == '__main__':
    main()
