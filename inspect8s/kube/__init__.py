"""Kubernetes API access: the live client (``live.py``), converters, kubeconfig, agent pods.

Nothing heavy is imported here; ``live.py`` imports the ``kubernetes`` package inside its
functions only.
"""
