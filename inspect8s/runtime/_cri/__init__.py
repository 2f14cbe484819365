"""Generated CRI (runtime.v1) message and service modules; see README.md here.

Import ``api_pb2`` / ``api_pb2_grpc`` from this package only inside functions: they pull in
grpc and protobuf, which the CLI must not load at start-up.
"""
