"""python -m driftd sweep ...: the package's programs (see driftd.sweep)."""
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("sweep",):
        sys.stderr.write("usage: driftd sweep --reference FILE --current FILE [options]\n"
                         "       driftd sweep --help\n")
        return 2
    from .sweep import main as sweep_main
    return sweep_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
