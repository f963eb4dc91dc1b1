import sys

from autodl.cli import main

sys.exit(main())
