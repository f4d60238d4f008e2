"""The project is configured in pyproject.toml; this only adds the firmware sources and board
files to the wheel (under harness/_data/, found by harness/resources.py), since they live
outside the package in the checkout."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("firmware", "boards")  # harness/resources.py DATA_DIRS


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders
            return
        for name in DATA_DIRS:
            target = Path(self.build_lib) / "harness" / "_data" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(Path(__file__).parent / name, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.o", "*.elf"))


setup(cmdclass={"build_py": BuildPyWithData})
