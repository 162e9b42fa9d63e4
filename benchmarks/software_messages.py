"""The messages the serving benchmarks translate: software messages of about
10 words (`MESSAGES`), or those of a corpus file (`tsv_messages`).

Shared by `serving.py` (the export's signatures) and `endpoint.py` (the HTTP
endpoint), with their `--tsv` option (`add_argument`, `chosen`); imports
nothing heavy, so a benchmark's client loads no TensorFlow.
"""

MESSAGES = [
    "Could not open file %s because the disk is full.",
    "The printer %s is not responding, check the cable connection.",
    "Deleted {count} items from the trash folder of the user.",
    "Unable to connect to the network, please try again later.",
    "The package %s could not be installed because of conflicts.",
    "Your password must contain at least %d characters and digits.",
    "Saving the document failed; do you want to try again?",
    "The window could not be closed while a download is running.",
    "A new version of %s is available, restart to update.",
    "The key %s was not found in the configuration file.",
    "Copied %d of %d files to the selected folder so far.",
    "The account %s has been locked after too many attempts.",
    "Select a folder where the exported messages should be saved.",
    "The connection to the server was lost during the upload.",
    "Do you really want to remove the selected %d messages?",
    "Invalid date format in line %u of the input file.",
]


def tsv_messages(path, low=8, high=12):
    """Distinct sources of `low` to `high` words from a `source<TAB>target` file."""
    seen, messages = set(), []
    with open(path, encoding="utf-8") as f:
        for line in f:
            source = line.rstrip("\n").split("\t", 1)[0].strip()
            if low <= len(source.split()) <= high and source not in seen:
                seen.add(source)
                messages.append(source)
    if not messages:
        raise SystemExit(f"{path}: no source of {low} to {high} words")
    return messages


def add_argument(parser):
    """Adds `--tsv FILE` (the messages' source) to an `argparse` parser."""
    parser.add_argument("--tsv", metavar="FILE",
                        help="messages: the sources of 8-12 words of this TSV "
                             "(default: a built-in list)")


def chosen(args):
    """The messages `--tsv` names: `tsv_messages(args.tsv)`, or `MESSAGES`."""
    return tsv_messages(args.tsv) if args.tsv else MESSAGES
