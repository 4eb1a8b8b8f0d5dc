"""``python -m limr_kit``: the same as the ``limr-kit`` command."""

from limr_kit.cli import main


main()
