#!/usr/bin/python3
"""tests/b2_cli_realm.py — runs Backblaze's b2 command line tool (Debian backblaze-b2) with its
'production' realm pointed at B2_TEST_REALM (the B2 test server), as the interop test needs."""
import os
import sys

from b2.account_info.abstract import AbstractAccountInfo
from b2.console_tool import main

# The tool (1.3.8) carries its own copy of the B2 library, with its own table of realms.
AbstractAccountInfo.REALM_URLS["production"] = os.environ["B2_TEST_REALM"]

sys.argv[0] = "b2"
sys.exit(main())
