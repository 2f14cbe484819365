"""The CRI (runtime.v1) messages inspect8s sends and reads; see README.md here.

``wire`` encodes and decodes them without protobuf, from the table in ``schema.py``, which
``scripts/gen_cri_schema.py`` writes from ``api.proto``'s descriptors.
"""
