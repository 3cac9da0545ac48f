"""``python -m mock_server``: the same as the ``zitadel-mock`` console script."""

import sys

from mock_server.cli import main

sys.exit(main())
