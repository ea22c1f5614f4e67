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
    try:
        network.reload()
        for container in network.containers:
            network.disconnect(container, force=True)
        network.remove()
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as error:
        log.warning("could not remove network %s: %s", network.name, error)
        return False


def labelled_networks(client: docker.DockerClient, labels: list[str]) -> list[Network]:
    return client.networks.list(filters={"label": labels})


def remove_volume(volume) -> bool:
    try:
        volume.remove(force=True)
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as error:  # still in use: a container not yet removed
        log.warning("could not remove volume %s: %s", volume.name, error)
        return False


def labelled_volumes(client: docker.DockerClient, labels: list[str]) -> list:
    return client.volumes.list(filters={"label": labels})


def created_s(item) -> float:
    """When a network or volume was made, as Unix time (Docker gives RFC 3339)."""
    text = item.attrs.get("Created") or item.attrs.get("CreatedAt") or ""
    try:
        return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0
