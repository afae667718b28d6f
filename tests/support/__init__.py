"""What the tests share besides fixtures: paths, ports, configurations, tokens, a live server.

``tests/conftest.py`` holds the fixtures and imports these; test modules import them from here.
"""
