"""Docker networks and volumes that a job makes (coop-git's network, team's scratchpad),
labelled like its containers so that the cleanup finds them."""

import logging
from datetime import datetime

import docker
import docker.errors
from docker.models.networks import Network

log = logging.getLogger(__name__)


def remove_network(network: Network) -> bool:
    """Remove ``network``, first disconnecting what is still attached (a container being
    removed by someone else); False if it was gone already or could not be removed."""
    def remove() -> None:
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()

    return _removed("network", network.name, remove)


def labelled_networks(client: docker.DockerClient, labels: list[str]) -> list[Network]:
    return client.networks.list(filters={"label": labels})


def remove_volume(volume) -> bool:
    """Remove ``volume``; False if it was gone already or is still in use."""
    return _removed("volume", volume.name, lambda: volume.remove(force=True))


def labelled_volumes(client: docker.DockerClient, labels: list[str]) -> list:
    return client.volumes.list(filters={"label": labels})


def _removed(kind: str, name: str, remove) -> bool:
    try:
        remove()
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as error:  # e.g. still in use by a container being removed
        log.warning("could not remove %s %s: %s", kind, name, error)
        return False


def created_s(item) -> float:
    """When a network or volume was made, as Unix time (Docker gives RFC 3339)."""
    text = item.attrs.get("Created") or item.attrs.get("CreatedAt") or ""
    try:
        return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0
