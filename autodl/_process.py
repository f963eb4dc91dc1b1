"""Whether this Python process is the `autodl` command itself or a program that imports autodl.

Only the command may change its process as a whole: replace it with a fresh copy of
itself when trials have grown its memory (autodl/study/_memory.py), or freeze the garbage
collector's view of long-lived objects (autodl/train/_fit.py). A caller's notebook, script
or test run is left as it is.
"""

IS_COMMAND = False  # set by autodl.cli.main when it runs as the program (no argv passed)
