"""Every Python example in the README runs as written."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)  # the examples save files
    namespace: dict = {}
    for block in blocks:  # one namespace: later blocks use what earlier ones defined, as a reader would
        exec(compile(block, str(README), "exec"), namespace)
