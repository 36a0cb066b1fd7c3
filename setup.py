"""Packaging for Tight: the runtime (``tight``) and the doit toolkit (``tight_tasks``)."""

import re
from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup

HERE = Path(__file__).parent
# The top-level templates/ folder ships inside the toolkit as tight_tasks/templates. Each
# of its folders is listed as a (data-only) package: setuptools warns, once per folder and
# build, about any folder it copies that the packages list does not name.
TEMPLATES = [
    "tight_tasks.templates",
    *(
        f"tight_tasks.templates.{name}"
        for name in find_namespace_packages(
            where=str(HERE / "templates"), exclude=["*__pycache__*"]
        )
    ),
]


def version() -> str:
    """Tight's version, kept in one place: ``tight.__version__`` (read, not imported)."""
    text = (HERE / "tight" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"$', text, re.M).group(1)


def requirements() -> list[str]:
    """The toolkit's direct dependencies, from requirements.in (the lock pins them)."""
    lines = (HERE / "requirements.in").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


DEV = [
    "ruff==0.17.6",
    "mypy==2.4.1",
    "hypothesis>=6.150,<7",
    # `doit test` runs the suite on two workers: most tests wait on subprocesses.
    "pytest-xdist>=3.5,<4",
    "types-PyYAML",
    "types-requests",
    # Real services on 127.0.0.1 for the test plugin's record/playback tests.
    "moto[server]>=5,<6",
    # doit schema's templates are checked with cfn-lint in the tests.
    "cfn-lint",
    # doit openapi's documents are checked against the OpenAPI 3.1 schema in the tests.
    "openapi-spec-validator>=0.7,<1",
    # The opt-in resolver (resolver: uv in tight.yml); its tests need it.
    "uv>=0.5",
    # Peers measured by `doit bench` in the same run as Tight.
    "aws-lambda-powertools==3.37.0",
    "chalice==1.34.0",
]

# The import names are `tight` and `tight_tasks`; the distribution's name is `tight-lambda`,
# since PyPI's `tight` (0.1.0, 2017) is another project, and its version starts past 0.1.0.
setup(
    name="tight-lambda",
    version=version(),
    description="A microframework and build toolkit for Python services on AWS Lambda",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=[*find_packages(include=["tight", "tight.*", "tight_tasks"]), *TEMPLATES],
    package_dir={"tight_tasks.templates": "templates"},
    package_data={name: ["*"] for name in TEMPLATES},
    install_requires=requirements(),
    extras_require={"dev": DEV},
    entry_points={
        "console_scripts": ["tight = tight_tasks.cli:main"],
        # The pytest plugin: fixtures and record/playback for every app with tight installed.
        "pytest11": ["tight = tight.testing.plugin"],
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
    ],
)
