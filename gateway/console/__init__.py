"""The agents' web console (``/console``): server-rendered pages, live over SSE."""
