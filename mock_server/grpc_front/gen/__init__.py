"""Python generated from ``mock_server/grpc_front/proto``; see ``generate.py``."""
