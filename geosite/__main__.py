"""``python -m geosite`` runs the command line."""

from geosite.cli import main

if __name__ == "__main__":
    main()
