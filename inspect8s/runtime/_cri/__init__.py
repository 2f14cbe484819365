"""Generated CRI (runtime.v1) message modules; see README.md here.

Import ``api_pb2`` from this package only inside functions: it pulls in protobuf, which the
CLI must not load at start-up.
"""
