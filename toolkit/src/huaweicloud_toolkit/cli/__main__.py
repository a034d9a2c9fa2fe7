"""``python -m huaweicloud_toolkit.cli``: the same as the ``hwcloud`` console script."""

from huaweicloud_toolkit.cli.main import run

run()
