"""Contact-center orchestration beside FreeSWITCH."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("callcenter")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0.0.0"
