"""Build the API reference from the docstrings with pdoc: python docs/build_api.py [OUT_DIR]."""
import subprocess
import sys
from pathlib import Path

MODULES = ["annealrbm", "annealrbm.data", "annealrbm.models", "annealrbm.backends", "annealrbm.gradient",
           "annealrbm.optim", "annealrbm.metrics", "annealrbm.training", "annealrbm.experiments", "annealrbm.sklearn"]

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "api")
    sys.exit(subprocess.call([sys.executable, "-m", "pdoc", *MODULES, "-o", out]))
