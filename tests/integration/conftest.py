"""pytest fixtures for the integration tests (the stack is started by scripts/test).

    base_url    nginx base URL (CONCERT_TEST_URL)
    apache_url  Apache base URL (CONCERT_TEST_APACHE_URL); tests using it skip when unset
    web         parametrized over ["nginx", "apache"]: a test taking `web` runs once per web
                server and receives that server's base URL
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import helpers  # noqa: E402


@pytest.fixture(scope="session")
def base_url():
    return helpers.BASE_URL


@pytest.fixture(scope="session")
def apache_url():
    if not helpers.APACHE_URL:
        pytest.skip("CONCERT_TEST_APACHE_URL not set")
    return helpers.APACHE_URL


@pytest.fixture(params=["nginx", "apache"])
def web(request):
    if request.param == "nginx":
        return helpers.BASE_URL
    if not helpers.APACHE_URL:
        pytest.skip("CONCERT_TEST_APACHE_URL not set")
    return helpers.APACHE_URL
