"""Operating a deployment: status and progress views, worker presence, image prefetch on
every host, and the local cluster of the demo."""
