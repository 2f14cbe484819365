"""The package version, kept in a module of its own so `--version` imports nothing else.

``AGENT_IMAGE_REPOSITORY`` is where the agent image of each version is published; the
default ``--agent-image`` is ``AGENT_IMAGE_REPOSITORY:__version__`` (kube/agent.py), and
scripts/build_image.py tags the image it builds with exactly that.
"""

__version__ = "0.1.0"
AGENT_IMAGE_REPOSITORY = "ghcr.io/inspect8s/inspect8s"
