"""``python -m clustersim`` runs the command line."""

from clustersim.cli import main

main()
