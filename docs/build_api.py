"""Build the API reference from the docstrings with pdoc: python docs/build_api.py [OUT_DIR]."""
import subprocess
import sys
from pathlib import Path

MODULES = ["annealrbm", "annealrbm.models", "annealrbm.sklearn", "annealrbm.trainer", "annealrbm.optim",
           "annealrbm.estimators", "annealrbm.ais", "annealrbm.fidelity",
           "annealrbm.experiments", "annealrbm.compare", "annealrbm.fetch", "annealrbm.backends"]

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent / "api")
    sys.exit(subprocess.call([sys.executable, "-m", "pdoc", *MODULES, "-o", out]))
