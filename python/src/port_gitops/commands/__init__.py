"""One module per sub-command: `register(parser)` adds its flags, `run(args)` does the work.

Modules import only argparse-level things at the top so that `--help` stays fast.
"""
