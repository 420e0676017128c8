"""The README's tour runs as written: every ```python block, in order, in one namespace."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["result"].label == 4 and namespace["result"].sensation == 1
    assert namespace["moved"].label == 4 and namespace["moved"].sensation == 2
    assert namespace["obs"] is not None
    assert namespace["scores"].accuracy == 1.0
