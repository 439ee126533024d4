"""The FastAPI gateway: ``gateway.app.create_app(GatewayServices(...))`` (see :mod:`gateway.services`)."""
