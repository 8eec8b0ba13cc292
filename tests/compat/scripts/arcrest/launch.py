"""Run one of arcrest 10.3's scripts as ``pip install arcrest`` on Python 3.4 would (ours).

Usage: ``launch.py LIBRARY SCRIPT [ARGS...]``. ``LIBRARY`` is the folder holding the
``arcrest`` package (as site-packages would), ``SCRIPT`` a command-line utility of the
release (``cmdline/manageservice.py``) or our ``driver.py``; it runs as ``__main__`` with
``ARGS`` as its command line.

The one thing restored is what Python 3.8 removed and arcrest calls on every request:
``cgi.parse_qs``, which Python 3.0 to 3.7 kept as ``urllib.parse.parse_qs`` (and the ``cgi``
module itself, gone in 3.13). Nothing of the release is edited; see SOURCE.md.
"""

import runpy
import sys
import types
import urllib.parse
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import cgi
    except ImportError:  # Python 3.13 and later
        cgi = types.ModuleType("cgi")
        sys.modules["cgi"] = cgi
if not hasattr(cgi, "parse_qs"):
    cgi.parse_qs = urllib.parse.parse_qs

library, script = sys.argv[1], sys.argv[2]
sys.path.insert(0, library)
sys.argv = [script, *sys.argv[3:]]
runpy.run_path(script, run_name="__main__")
