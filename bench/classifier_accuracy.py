"""Classifier accuracy on the held-out labelled set (`shared/data/labelled/heldout.jsonl`): `hotspot evaluate`."""

from infra.cli import main as hotspot


def main() -> None:
    hotspot(["evaluate"])


if __name__ == "__main__":
    main()
