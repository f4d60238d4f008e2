"""Root conftest: lets a plain checkout import `harness` without installing it.

The pytest plugin itself lives in `harness/pytest_plugin.py` (entry point `pytest11`).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
