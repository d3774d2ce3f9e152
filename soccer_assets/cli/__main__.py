"""``python -m soccer_assets.cli``: the ``soccer`` command (what DVC's stages call)."""

import sys

from soccer_assets.cli.main import main

sys.exit(main())
