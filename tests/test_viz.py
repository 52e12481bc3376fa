"""freqaug.viz draws with matplotlib's object API: no backend chosen, no pyplot figure left behind."""
import subprocess
import sys

import PIL.Image

SCRIPT = """
import matplotlib, sys, torch
before = matplotlib.rcParams._get_backend_or_none()
from freqaug import viz
from freqaug.bands import BandSpec, decompose
x = torch.rand(1, 3, 32, 48)
bands = {name: band[0] for name, band in decompose(x, BandSpec(levels=2)).items()}
viz.save_band_grid(x[0], bands, BandSpec(levels=2), sys.argv[1])
after = matplotlib.rcParams._get_backend_or_none()
print(before == after, 'matplotlib.pyplot' in sys.modules)
"""


def test_drawing_neither_sets_the_backend_nor_loads_pyplot(tmp_path):
    out = tmp_path / "bands.png"
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]
    with PIL.Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 200
