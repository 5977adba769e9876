"""The ASGI application uvicorn serves, built from the environment's settings."""

from hub.app import create_app

app = create_app()
