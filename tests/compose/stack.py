"""A compose stack of docker-compose.yml under a project name of its own: its env file
(random passwords, free ports on 127.0.0.1), the `docker-compose` command line, and what
the project leaves on the Docker engine."""

import os
import secrets
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from coopbench.ops.localcluster import free_port
from tests.support.containers import container_names, run_containers

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
# What compose interpolates must come from the env file only: the caller's environment
# would take precedence over it (a stray REDIS_PASSWORD, COOPBENCH_QUEUE, ...).
KEPT_ENVIRONMENT = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "LANG")


@dataclass
class Stack:
    env_dir: Path
    project: str = field(default_factory=lambda: f"coopbench-test-{uuid.uuid4().hex[:8]}")
    values: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run = f"compose-{self.project.rsplit('-', 1)[1]}"
        self.host_name = "compose-host"  # the host part of the workers' names
        self.values = {
            "REDIS_PASSWORD": secrets.token_hex(16), "POSTGRES_PASSWORD": secrets.token_hex(16),
            "FLOWER_USER": "admin", "FLOWER_PASSWORD": secrets.token_hex(16),
            "COOPBENCH_BIND_ADDRESS": "127.0.0.1", "REDIS_PORT": str(free_port()),
            "POSTGRES_PORT": str(free_port()), "FLOWER_PORT": str(free_port()),
            "WORKER_HOST_NAME": self.host_name, "COOPBENCH_RUN": self.run, **self.values,
        }
        self.env_file = self.write_env(self.values)

    def write_env(self, values: dict[str, str], name: str = ".env") -> Path:
        path = self.env_dir / name
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
        path.chmod(0o600)
        return path

    @property
    def database_url(self) -> str:
        return (f"postgresql+psycopg://coopbench:{self.values['POSTGRES_PASSWORD']}"
                f"@127.0.0.1:{self.values['POSTGRES_PORT']}/coopbench")

    @property
    def flower_url(self) -> str:
        return f"http://127.0.0.1:{self.values['FLOWER_PORT']}"

    @property
    def flower_auth(self) -> tuple[str, str]:
        return self.values["FLOWER_USER"], self.values["FLOWER_PASSWORD"]

    def compose(self, *args: str, env_file: Path | None = None, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess:
        # `--profile tools` only where the one-shot services must count too: `up` would
        # start them (`run` needs no profile).
        profile = ["--profile", "tools"] if args[0] in ("config", "down") else []
        command = ["docker-compose", "--ansi", "never", "-f", str(COMPOSE_FILE),
                   "--project-directory", str(REPO_ROOT), "--env-file",
                   str(env_file or self.env_file), "-p", self.project, *profile, *args]
        environment = {k: v for k, v in os.environ.items() if k in KEPT_ENVIRONMENT}
        result = subprocess.run(command, cwd=self.env_dir, env=environment, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", check=False).stdout

    def leftovers(self, client: docker.DockerClient) -> dict[str, list[str]]:
        """The project's containers, volumes and networks, and the run's task containers."""
        project = {"label": f"com.docker.compose.project={self.project}"}
        return {
            "containers": container_names(client, project["label"]),
            "volumes": [v.name for v in client.volumes.list(filters=project)],
            "networks": [n.name for n in client.networks.list(filters=project)],
            "task containers": run_containers(client, self.run),
        }

    def destroy(self, client: docker.DockerClient) -> None:
        """Take everything down, even after a failed start: compose first, then by label."""
        self.compose("down", "-v", "--remove-orphans", "--timeout", "10", check=False)
        left = self.leftovers(client)
        removals = [(client.api.remove_container, name, {"force": True, "v": True})
                    for name in left["containers"] + left["task containers"]]
        removals += [(client.api.remove_volume, name, {"force": True}) for name in left["volumes"]]
        removals += [(client.api.remove_network, name, {}) for name in left["networks"]]
        for remove, name, options in removals:
            try:
                remove(name, **options)
            except docker.errors.NotFound:
                pass  # gone meanwhile
