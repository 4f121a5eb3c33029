"""moto's server with the project's patches (infra/moto_patches.py): `python -m infra.moto_server -p 5000`."""

from moto.server import main

from infra import moto_patches

if __name__ == "__main__":
    moto_patches.apply()
    main()
