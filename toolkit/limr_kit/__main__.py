"""``python -m limr_kit``: the same as the ``limr-kit`` command."""

from limr_kit.cli import main


if __name__ == "__main__":  # vLLM and the grader start subprocesses that may re-import __main__
    main()
