"""port-gitops: Port's "Enrich Service" action, done properly on Jenkins + Bitbucket."""

__version__ = "0.1.0"
