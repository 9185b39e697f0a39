import sys

from thomson.cli import main

sys.exit(main())
