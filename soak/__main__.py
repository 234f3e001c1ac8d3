"""`python -m soak [--minutes N]`: see soak/run.py."""

import argparse
import os
import sys

from soak.run import main

parser = argparse.ArgumentParser(prog="python -m soak", description="the portal's soak")
parser.add_argument(
    "--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)), help="traffic"
)
sys.exit(main(minutes=parser.parse_args().minutes))
