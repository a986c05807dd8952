"""PNG figures of a search (paper Fig. 5) and a scaling run (Fig. 3)."""

import math
from typing import Optional, Sequence

import matplotlib

matplotlib.use('Agg')
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top


def _plot(x: Sequence[float], y: Sequence[float], labels: Sequence[str],
          path: str, steps: Optional[Sequence[int]] = None) -> None:
  """A line of (x, y), its points numbered by `steps` when given;
  `labels` are the x label, the y label and the title."""
  figure, axis = plt.subplots(figsize=(5, 3.5))
  axis.plot(x, y, marker='o' if steps is not None else None)
  for step, point in zip(steps or (), zip(x, y)):
    axis.annotate(str(step), point, fontsize=7, xytext=(3, 3),
                  textcoords='offset points')
  xlabel, ylabel, title = labels
  axis.set_xlabel(xlabel)
  axis.set_ylabel(ylabel)
  axis.set_title(title)
  axis.grid(alpha=0.3)
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)


def entropy_curve(steps: Sequence[int], entropy: Sequence[float],
                  path: str) -> None:
  """Fig. 5: policy entropy over the search steps."""
  _plot(steps, entropy, ('search step', 'policy entropy (nats)',
                         'Topology search: policy entropy'), path)


def scaling_trajectory(depths: Sequence[int], widths: Sequence[int],
                       path: str) -> None:
  """Fig. 3 left: total depth (blocks) against total width (channels)."""
  _plot(depths, widths, ('total depth (blocks)',
                         'total width (sum of block channels)',
                         'Auto-scaling trajectory'), path,
        steps=list(range(len(depths))))


def complexity_trajectory(lengths: Sequence[float], kappas: Sequence[float],
                          steps: Sequence[int], path: str) -> None:
  """Fig. 3 right: L_E against the NTK condition number per scaling step."""
  points = [(s, l, k) for s, l, k in zip(steps, lengths, kappas)
            if math.isfinite(l) and math.isfinite(k)]
  _plot([p[2] for p in points], [p[1] for p in points],
        ('NTK condition number (lower is better)',
         'length distortion L_E (higher is better)',
         'Complexity along the scaling'), path,
        steps=[p[0] for p in points])
