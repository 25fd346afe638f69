#!/usr/bin/env python
"""manage.py of the test project, for tests that run it as a separate process.

Run from the repository root (the `tests` package must be importable). The environment variable
TEST_TORNADO (JSON) overrides keys of the TORNADO setting.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
