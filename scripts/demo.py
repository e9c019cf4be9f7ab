"""``nox -s demo``: the project's main job on its embedded default.

Until ``xregistry serve`` exists (issue 9) this prints what the installed stack offers: each
package with its version and public API, and the resource types the factory knows.
"""

from __future__ import annotations

import importlib
import sys

PACKAGES = ["xobj_prototype", "xresource", "xinspector", "xrepo", "xregistry"]


def main() -> int:
    print("xstack: one typed async way to reach any data, and to know what is in it\n")
    for name in PACKAGES:
        module = importlib.import_module(name)
        public = getattr(module, "__all__", [])
        print(f"{name} {module.__version__}: {len(public)} public names")
        shown = [n for n in public if not n.startswith("_")]
        print("    " + ", ".join(shown) if shown else "    (no public API yet)")
    from xresource import ResourceFactory

    print("\nresource types:", ", ".join(ResourceFactory.known_types()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
