"""The real CooperBench task image the tests score on: dirty-equals task 43.

Built here from the shared fixtures with no registry and no GitHub, by the recipe of
``../shared/fixtures/cooperbench/README.md``: a local stand-in for ``python:3.11-slim``
(Debian bookworm's Python 3.11 with pip, venv, headers, git, curl and a compiler, from the
local debootstrap base), then upstream's unmodified Dockerfile with only its ``git clone``
step replaced by a copy of the repository from the fixture's git bundle. Its tag is
upstream's image name, so upstream's own Docker backend finds it too.

Each image carries a hash of its inputs (label ``coopbench.inputs``) and is rebuilt only
when they change: CI builds it once per machine, in about 40 s.
"""

import hashlib
import io
import re
import subprocess
import tempfile
from pathlib import Path

import docker

REPO = "samuelcolvin_dirty_equals_task"
TASK_ID = 43
IMAGE = "akhatua/cooperbench-samuelcolvin-dirty-equals:task43"  # upstream's get_image_name
STANDIN = "python:3.11-slim"  # what upstream's Dockerfile starts FROM
INPUTS_LABEL = "coopbench.inputs"
LITE_PAIRS = [(2, 3), (2, 4), (3, 7), (6, 7), (7, 9)]  # the task's pairs in the lite subset

STANDIN_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# What python:3.11-slim has and the task's Dockerfile relies on, from Debian's packages;
# pip may install system-wide, as in the official image.
RUN apt-get update -qq \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
       python3 python3-venv python3-pip python3-dev git curl build-essential ca-certificates \\
    && rm -rf /var/lib/apt/lists/* /usr/lib/python3*/EXTERNALLY-MANAGED \\
    && ln -sf /usr/bin/python3 /usr/local/bin/python && ln -sf /usr/bin/pip3 /usr/local/bin/pip
"""
CLONE_STEP = re.compile(r"^RUN git clone .*?(?<!\\)\n", re.MULTILINE | re.DOTALL)


def task_dir(fixtures: Path) -> Path:
    return fixtures / REPO / f"task{TASK_ID}"


def build_real_task_image(client: docker.DockerClient, fixtures: Path, base_image: str) -> str:
    """The dirty-equals task 43 image, built (or found up to date); returns its name."""
    base_id = client.images.get(base_image).id
    standin_hash = _hash(base_id.encode(), STANDIN_DOCKERFILE.encode())
    _build(client, STANDIN, standin_hash, lambda context: (
        (context / "Dockerfile").write_text(STANDIN_DOCKERFILE)), {"BASE_IMAGE": base_image})

    task = task_dir(fixtures)
    bundle = fixtures / "sources" / "dirty-equals-task43.bundle"
    dockerfile = (task / "Dockerfile").read_text()
    runner = (task / "runner.sh").read_bytes()
    image_hash = _hash(client.images.get(STANDIN).id.encode(), dockerfile.encode(), runner,
                       bundle.read_bytes())

    def context(directory: Path) -> None:
        subprocess.run(["git", "clone", "-q", "-b", f"task{TASK_ID}", str(bundle),
                        str(directory / "repo")], check=True)
        head = subprocess.run(["git", "-C", str(directory / "repo"), "rev-parse", "HEAD"],
                              check=True, capture_output=True, text=True).stdout.strip()
        assert f"git checkout {head}" in dockerfile, "the bundle is not the Dockerfile's commit"
        (directory / "runner.sh").write_bytes(runner)
        copied, replaced = CLONE_STEP.subn("COPY repo/ /workspace/repo/\n", dockerfile)
        assert replaced == 1, "upstream's Dockerfile has no single `RUN git clone` step"
        (directory / "Dockerfile").write_text(copied)

    _build(client, IMAGE, image_hash, context, {})
    return IMAGE


def _build(client: docker.DockerClient, tag: str, inputs: str, make_context, buildargs: dict) -> None:
    try:
        if client.images.get(tag).labels.get(INPUTS_LABEL) == inputs:
            return
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="coopbench-real-task-") as directory:
        make_context(Path(directory))
        try:
            client.images.build(path=directory, tag=tag, buildargs=buildargs, rm=True,
                                labels={INPUTS_LABEL: inputs})
        except docker.errors.BuildError as error:
            log = io.StringIO()
            for chunk in error.build_log:
                log.write(chunk.get("stream") or chunk.get("error") or "")
            raise AssertionError(f"building {tag} failed:\n{log.getvalue()[-3000:]}") from None


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def all_pairs(fixtures: Path) -> list[tuple[int, int]]:
    ids = sorted(int(p.name.removeprefix("feature")) for p in task_dir(fixtures).glob("feature*"))
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]


def read_feature(fixtures: Path, feature_id: int, name: str) -> str:
    """``feature.patch`` (gold), ``tests.patch`` or ``feature.md`` of one feature, as upstream
    reads them."""
    return (task_dir(fixtures) / f"feature{feature_id}" / name).read_text()


class SoloPatches:
    """Solo patches made as the oracle makes them: both gold patches applied in turn to a
    clone of the task's repository (``--index``, else ``--3way``, whose conflict markers
    stay), then the staged diff from the base commit."""

    def __init__(self, fixtures: Path, directory: Path):
        self.fixtures, self.repo = fixtures, directory / "repo"
        bundle = fixtures / "sources" / "dirty-equals-task43.bundle"
        subprocess.run(["git", "clone", "-q", "-b", f"task{TASK_ID}", str(bundle), str(self.repo)],
                       check=True)
        self.base = self._git("rev-parse", "HEAD").stdout.strip()

    def patch(self, features: tuple[int, ...]) -> str:
        self._git("checkout", "-q", "-f", self.base)
        self._git("clean", "-fdq")
        for fid in features:
            gold = str(task_dir(self.fixtures) / f"feature{fid}" / "feature.patch")
            if self._git("apply", "--index", gold, check=False).returncode:
                self._git("apply", "--3way", gold, check=False)
        self._git("add", "-A")
        return self._git("diff", "--cached", self.base).stdout

    def _git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(self.repo), *args], check=check,
                              capture_output=True, text=True)
